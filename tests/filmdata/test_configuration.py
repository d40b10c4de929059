"""Film-data settings: ``none`` by default, the key only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import main
from server.filmdata import KEY_VARIABLE, NoFilmData, create_provider
from server.filmdata.kinopoisk import KinopoiskProvider
from server.filmdata.tmdb import TmdbProvider
from server.settings import SettingsError, load_settings


def test_no_provider_is_the_embedded_default() -> None:
    settings = load_settings(environ={})
    assert settings.film_data == "none"
    assert settings.tmdb_url == "https://api.themoviedb.org"
    assert settings.kinopoisk_url == "https://kinopoiskapiunofficial.tech"
    assert settings.film_data_max_age_days <= 183
    assert isinstance(create_provider(settings, {}), NoFilmData)


async def test_the_provider_is_chosen_by_configuration() -> None:
    tmdb = load_settings(environ={"FILMNIGHT_FILM_DATA": "tmdb"})
    kinopoisk = load_settings(environ={"FILMNIGHT_FILM_DATA": "kinopoisk"})
    first = create_provider(tmdb, {KEY_VARIABLE: "token"})
    second = create_provider(kinopoisk, {KEY_VARIABLE: "key"})
    assert isinstance(first, TmdbProvider) and isinstance(second, KinopoiskProvider)
    await first.aclose()
    await second.aclose()


@pytest.mark.parametrize("provider", ["tmdb", "kinopoisk"])
def test_a_provider_without_its_key_names_the_variable(provider: str) -> None:
    settings = load_settings(environ={"FILMNIGHT_FILM_DATA": provider})
    for environ in ({}, {KEY_VARIABLE: "  "}):
        with pytest.raises(SettingsError, match=KEY_VARIABLE):
            create_provider(settings, environ)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"FILMNIGHT_FILM_DATA": "omdb"}, "'film_data'"),
        ({"FILMNIGHT_FILM_DATA_MAX_AGE_DAYS": "184"}, "'film_data_max_age_days'"),
        ({"FILMNIGHT_FILM_DATA_MAX_AGE_DAYS": "0"}, "'film_data_max_age_days'"),
        ({"FILMNIGHT_FILM_DATA_LANGUAGE": "russian"}, "'film_data_language'"),
        ({"FILMNIGHT_FILM_DATA_REGION": "de"}, "'film_data_region'"),
        ({"FILMNIGHT_FILM_DATA_CONCURRENCY": "0"}, "'film_data_concurrency'"),
        ({"FILMNIGHT_POSTER_MAX_BYTES": "10"}, "'poster_max_bytes'"),
        ({"FILMNIGHT_FILM_DATA_REQUESTS_PER_SECOND": "-1"}, "'film_data_requests_per_second'"),
    ],
)
def test_bad_film_data_settings_are_refused(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        load_settings(environ=env)


def test_the_key_is_not_a_setting_of_the_file(tmp_path: Path) -> None:
    config = tmp_path / "litestar.toml"
    config.write_text('film_data = "tmdb"\nfilm_data_key = "a-token"\n')
    with pytest.raises(SettingsError, match="unknown key 'film_data_key'"):
        load_settings(config, environ={})


def test_serve_stops_with_the_variable_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FILMNIGHT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/fn.db")
    monkeypatch.setenv("FILMNIGHT_FILM_DATA", "tmdb")
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    result = CliRunner().invoke(main, ["serve", "--port", "0"])
    assert result.exit_code != 0
    assert KEY_VARIABLE in result.output
    assert not (tmp_path / "fn.db").exists()  # stopped before anything was opened


@pytest.mark.parametrize(("provider", "pace"), [("tmdb", 35.0), ("kinopoisk", 20.0)])
async def test_requests_go_at_the_providers_own_pace_unless_configured(
    provider: str, pace: float
) -> None:
    """TMDb answers 429 past about 40 a second, Kinopoisk's unofficial API past 20."""
    default = create_provider(
        load_settings(environ={"FILMNIGHT_FILM_DATA": provider}), {KEY_VARIABLE: "k"}
    )
    configured = create_provider(
        load_settings(environ={"FILMNIGHT_FILM_DATA": provider,
                               "FILMNIGHT_FILM_DATA_REQUESTS_PER_SECOND": "12.5"}),
        {KEY_VARIABLE: "k"},
    )  # fmt: skip
    try:
        assert isinstance(default, TmdbProvider | KinopoiskProvider)
        assert isinstance(configured, TmdbProvider | KinopoiskProvider)
        assert default._http.settings.requests_per_second == pace
        assert configured._http.settings.requests_per_second == 12.5
    finally:
        await default.aclose()
        await configured.aclose()
