"""litestar.toml + FILMNIGHT_* overrides, validated at start-up with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import Settings, SettingsError, load_settings


def test_the_shipped_file_holds_the_embedded_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.database_url.startswith("sqlite+aiosqlite:///data/")
    assert settings.redis_url == ""
    assert settings.sqlite
    assert settings == Settings()


def test_environment_overrides_every_kind_of_key() -> None:
    settings = load_settings(
        environ={
            "FILMNIGHT_PORT": "9001",
            "FILMNIGHT_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "FILMNIGHT_ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "FILMNIGHT_HELLO_TIMEOUT_S": "2.5",
            "FILMNIGHT_LOG_LEVEL": "debug",
        }
    )
    assert settings.port == 9001
    assert not settings.sqlite
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.hello_timeout_s == 2.5
    assert settings.log_level == "debug"


def test_trusted_proxies_and_a_certificate_are_read_and_none_is_the_default() -> None:
    assert load_settings(environ={}).forwarded_allow_ips == []
    settings = load_settings(
        environ={
            "FILMNIGHT_FORWARDED_ALLOW_IPS": "10.0.0.7, 192.168.0.0/16, ::1",
            "FILMNIGHT_SSL_CERTFILE": "/etc/filmnight/cert.pem",
            "FILMNIGHT_SSL_KEYFILE": "/etc/filmnight/key.pem",
        }
    )
    assert settings.forwarded_allow_ips == ["10.0.0.7", "192.168.0.0/16", "::1"]
    assert (settings.ssl_certfile, settings.ssl_keyfile) == (
        "/etc/filmnight/cert.pem",
        "/etc/filmnight/key.pem",
    )


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"FILMNIGHT_PORT": "eighty"}, "FILMNIGHT_PORT"),
        ({"FILMNIGHT_PORT": "70000"}, "'port' (from FILMNIGHT_PORT)"),
        ({"FILMNIGHT_LOG_LEVEL": "loud"}, "'log_level' (from FILMNIGHT_LOG_LEVEL)"),
        ({"FILMNIGHT_WS_SEND_QUEUE": "0"}, "'ws_send_queue'"),
        ({"FILMNIGHT_SSL_CERTFILE": "cert.pem"}, "ssl_certfile and ssl_keyfile go together"),
        ({"FILMNIGHT_SSL_KEYFILE": "key.pem"}, "'ssl_keyfile'"),
        (
            {"FILMNIGHT_FORWARDED_ALLOW_IPS": "10.0.0.1,proxy.local"},
            "'forwarded_allow_ips' (from FILMNIGHT_FORWARDED_ALLOW_IPS): 'proxy.local' is not",
        ),
        ({"FILMNIGHT_FORWARDED_ALLOW_IPS": "10.0.0.0/33"}, "'10.0.0.0/33' is not an IP"),
        ({"FILMNIGHT_WS_STALL_TIMEOUT_S": "0"}, "'ws_stall_timeout_s'"),
        (
            {"FILMNIGHT_SHUTDOWN_DRAIN_S": "20", "FILMNIGHT_SHUTDOWN_GRACE_S": "10"},
            "'shutdown_drain_s' (from FILMNIGHT_SHUTDOWN_DRAIN_S): must be shorter than",
        ),
    ],
)
def test_bad_values_name_the_key_and_its_source(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env)
    assert fragment in str(caught.value)


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "litestar.toml"
    config.write_text('port = 8001\ndatabse_url = "typo"\n')
    with pytest.raises(SettingsError, match="unknown key 'databse_url'"):
        load_settings(config, environ={})


def test_a_broken_file_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "litestar.toml"
    config.write_text("port = = 1\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(config, environ={})


def test_the_file_can_be_chosen_by_environment(tmp_path: Path) -> None:
    config = tmp_path / "custom.toml"
    config.write_text("port = 8123\n")
    assert load_settings(environ={"FILMNIGHT_CONFIG": str(config)}).port == 8123
