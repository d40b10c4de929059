// The member's seat (token) per session, kept in this browser so a reload returns to the same seat.
const key = (sessionId) => `filmnight:seat:${sessionId}`;

export function getSeat(sessionId) {
  try {
    return JSON.parse(localStorage.getItem(key(sessionId)) || "null");
  } catch {
    return null;
  }
}

export function saveSeat(sessionId, seat) {
  localStorage.setItem(key(sessionId), JSON.stringify(seat));
}

export function updateSeat(sessionId, patch) {
  const seat = getSeat(sessionId);
  if (seat) saveSeat(sessionId, { ...seat, ...patch });
}

export function forgetSeat(sessionId) {
  localStorage.removeItem(key(sessionId));
}
