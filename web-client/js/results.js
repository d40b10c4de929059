// A round's result in one sentence, from the explanation's tag (`kind`, docs/protocol.md
// "round.result"), and the parts of the details worth showing. Pure: sentences come back as a
// catalogue key and its parameters, so web-client/test/results.test.js runs this in Node.

// Which match cards were answered: the cards up to the furthest one anybody reached (everyone
// answers in card order), the winning card, or the last card with a yes. Cards nobody reached are
// left out rather than shown as 0 yes ("nobody wanted it" would be wrong).
export function answeredCards(round) {
  const ex = round.explanation ?? {};
  const ids = round.films.map((f) => f.id);
  let reached = Math.max(0, ...Object.values(round.answered ?? {}));
  if (round.winner) reached = Math.max(reached, ids.indexOf(round.winner.id) + 1);
  ids.forEach((id, i) => { if ((ex.yes?.[id] ?? 0) > 0) reached = Math.max(reached, i + 1); });
  return ids.slice(0, reached).map((id) => ({ film: id, yes: ex.yes?.[id] ?? 0 }));
}

function top(scores) {
  return Math.max(...Object.values(scores ?? {}), 0);
}

// {key, params} for t(). `title(id)` names a film.
export function resultSentence(round, title) {
  const ex = round.explanation ?? {};
  const winner = round.winner;
  if (!winner) {
    if (ex.kind === "match" && ex.closest?.length) {
      const best = ex.closest[0];
      return { key: "result.match.none_closest", params: { film: title(best.film), count: best.yes, total: round.eligible_count ?? round.eligible.length } };
    }
    return { key: "result.none", params: {} };
  }
  // The member's own title for it (`title` knows the round's films), else the list's.
  const film = round.films?.some((f) => f.id === winner.id) ? title(winner.id) : winner.title;
  if (round.tied.length > 1 && ex.kind !== "veto") {
    return { key: "result.tie", params: { count: round.tied.length, film } };
  }
  switch (ex.kind) {
    case "match":
      return { key: "result.match", params: { film } };
    case "approval":
      return { key: "result.approval", params: { film, count: ex.approvals?.[winner.id] ?? top(ex.approvals), total: ex.ballots } };
    case "borda":
      return { key: "result.borda", params: { film, count: Math.round((ex.scores?.[winner.id] ?? top(ex.scores)) * 10) / 10 } };
    case "irv": {
      const rounds = ex.rounds?.length ?? 1;
      return rounds <= 1
        ? { key: "result.irv.first", params: { film } }
        : { key: "result.irv.later", params: { film, count: rounds } };
    }
    case "schulze": {
      const others = Object.keys(ex.pairwise ?? {}).filter((id) => id !== winner.id);
      const beatsAll = others.every((o) => (ex.pairwise[winner.id]?.[o] ?? 0) > (ex.pairwise[o]?.[winner.id] ?? 0));
      return { key: beatsAll ? "result.schulze.condorcet" : "result.schulze.paths", params: { film } };
    }
    case "veto":
      if (round.tied.length > 1) return { key: "result.veto.closed", params: { film } };
      return { key: "result.veto", params: { film, count: ex.strikes?.length ?? 0 } };
    default:
      return { key: "result.winner", params: { film } };
  }
}

// Method names in plain words (catalogue keys).
export function methodKey(method) {
  return `method.${method}`;
}
