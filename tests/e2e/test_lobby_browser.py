"""The lobby in real Chromium: create, invite, join, live presence, same seat on return."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Dialog, FilePayload, Locator, Page, expect

from tests.server.test_watchlists_http import ALIEN, CROCODILE, HEAT, PARASITE, SOLARIS, lb_csv
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.browser

XSS_NAME = "<img src=x onerror=alert(1)>"


def csv_file(name: str, buffer: bytes) -> FilePayload:
    return {"name": name, "mimeType": "text/csv", "buffer": buffer}


def member(page: Page, name: str) -> Locator:
    return page.locator(".member", has=page.locator(".name", has_text=name))


def test_three_friends_meet_in_the_lobby_and_a_friend_comes_back_to_the_same_seat(
    browser: Browser, server: ServerProcess
) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def watch(page: Page) -> None:
        page.on("dialog", on_dialog)

    host_ctx, friend_ctx, other_ctx = (browser.new_context() for _ in range(3))
    for ctx in (host_ctx, friend_ctx, other_ctx):
        ctx.on("page", watch)
    host = host_ctx.new_page()
    host.goto(server.base_url)
    host.get_by_label("Your name").fill("Ana")
    host.get_by_label("What's the night called?").fill("Friday film night")
    host.get_by_role("button", name="Start a film night").click()
    expect(host.locator(".session-title")).to_have_text("Friday film night")
    expect(host.get_by_role("status").filter(has_text="Live")).to_be_visible()
    invite = host.get_by_label("Invite link", exact=True).input_value()
    assert "/join/" in invite

    friend = friend_ctx.new_page()
    friend.goto(invite)
    expect(friend.get_by_text("Ana invited you to")).to_be_visible()
    friend.get_by_label("Your name").fill("Ben")
    friend.get_by_role("button", name="Join").click()
    expect(member(friend, "Ben")).to_contain_text("you")

    other = other_ctx.new_page()
    other.goto(invite)
    other.get_by_label("Your name").fill(XSS_NAME)
    other.get_by_role("button", name="Join").click()

    for page in (host, friend, other):
        expect(page.locator(".member")).to_have_count(3)
        for name in ("Ana", "Ben", XSS_NAME):
            expect(member(page, name)).to_have_class("member online")
    # The name is text, not markup: no image element, no dialog.
    expect(host.locator(".members img")).to_have_count(0)
    assert dialogs == []
    ben_id = member(host, "Ben").get_attribute("data-member-id")

    # Ben closes the page: the others see him go offline. The member list is updated in
    # place: Ana's half-typed message keeps its focus, Ben's row is the same element.
    host.locator("#chat-input").fill("half a thou")
    host.locator("#chat-input").focus()
    member(host, "Ben").evaluate("row => { row.dataset.kept = '1'; }")
    friend.close()
    for page in (host, other):
        expect(member(page, "Ben")).to_have_class("member offline")
    expect(host.locator(".member[data-kept]")).to_have_count(1)
    host.wait_for_function("() => document.activeElement?.id === 'chat-input'")
    expect(host.locator("#chat-input")).to_have_value("half a thou")
    host.locator("#chat-input").fill("")

    # He opens the invite link again in the same browser: same seat, not a duplicate.
    friend = friend_ctx.new_page()
    friend.goto(invite)
    expect(member(friend, "Ben")).to_contain_text("you")
    expect(member(host, "Ben")).to_have_class("member online")
    expect(host.locator(".member")).to_have_count(3)
    assert member(host, "Ben").get_attribute("data-member-id") == ben_id

    # Chat reaches everyone as text.
    friend.get_by_label("Chat message").fill("<b>popcorn</b> ready")
    friend.get_by_role("button", name="Send").click()
    expect(host.locator(".chat-log li")).to_contain_text("<b>popcorn</b> ready")
    expect(host.locator(".chat-log b")).to_have_count(0)
    friend.get_by_role("button", name="React 🍿").click()
    expect(host.locator(".reaction-stage")).to_contain_text("🍿")

    # A reload keeps the conversation (the welcome carries the recent chat), still as text.
    host.reload()
    expect(host.locator(".chat-log li")).to_have_count(1)
    expect(host.locator(".chat-log li")).to_contain_text("Ben <b>popcorn</b> ready")
    expect(host.locator(".chat-log b")).to_have_count(0)

    # The host ends the session from the host drawer; the guests are told.
    host.locator('[data-action="host-tools"]').click()
    host.get_by_role("button", name="End session…").click()
    host.get_by_role("button", name="Yes, end it").click()
    expect(host.get_by_text("You ended the session.")).to_be_visible()
    expect(friend.get_by_text("This session has ended")).to_be_visible()
    expect(other.get_by_text("This session has ended")).to_be_visible()
    for ctx in (host_ctx, friend_ctx, other_ctx):
        ctx.close()


def test_an_unknown_invite_says_so(browser: Browser, server: ServerProcess) -> None:
    page = browser.new_page()
    page.goto(f"{server.base_url}/join/not-a-real-code-000000")
    expect(page.get_by_role("alert")).to_contain_text("unknown or no longer valid")
    page.close()


def test_forms_explain_bad_names_and_the_host_manages_invites(
    browser: Browser, server: ServerProcess
) -> None:
    page = browser.new_page()
    page.goto(server.base_url)
    page.get_by_role("button", name="Start a film night").click()
    expect(page.locator(".form-error")).to_contain_text("Tell your friends who you are")
    page.get_by_label("Your name").fill("Host")
    page.keyboard.press("Enter")
    # Host tools live in a drawer, opened from the session's header.
    expect(page.get_by_role("heading", name="Host controls")).to_be_hidden()
    page.locator('[data-action="host-tools"]').click()
    expect(page.get_by_role("heading", name="Host controls")).to_be_visible()

    page.get_by_label("Member limit").fill("1")
    page.get_by_label("Expiry").select_option("3600")
    page.get_by_role("button", name="New invite link").click()
    expect(page.locator(".invites li")).to_have_count(2)
    capped = page.get_by_label("Invite link", exact=True).input_value()

    guest = browser.new_page()
    guest.goto(capped)
    guest.get_by_label("Your name").fill("x" * 40)
    guest.get_by_role("button", name="Join").click()
    expect(guest.locator(".member")).to_have_count(2)

    late = browser.new_page()
    late.goto(capped)
    late.get_by_label("Your name").fill("Late")
    late.get_by_role("button", name="Join").click()
    expect(late.locator(".form-error")).to_contain_text("member limit")

    page.get_by_role("button", name="Revoke").first.click()
    expect(page.locator(".invites li.revoked")).to_have_count(1)
    for p in (page, guest, late):
        p.close()


def test_leaving_returns_nothing_on_reload(browser: Browser, server: ServerProcess) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.base_url)
    page.get_by_label("Your name").fill("Solo")
    page.get_by_role("button", name="Start a film night").click()
    expect(page.locator(".member")).to_have_count(1)
    url = page.url
    assert "/s/" in url
    page.get_by_role("button", name="Leave").click()
    expect(page.get_by_text("You left this session.")).to_be_visible()
    page.goto(url)
    expect(page.get_by_text("You're not in this session")).to_be_visible()
    context.close()


def test_a_russian_browser_gets_russian_and_the_switch_is_remembered(
    browser: Browser, server: ServerProcess
) -> None:
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    page.goto(server.base_url)
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Выберите фильм вместе.")
    page.get_by_label("Ваше имя").fill("Аня")
    page.get_by_role("button", name="Начать киновечер").click()
    expect(page.get_by_role("status").filter(has_text="На связи")).to_be_visible()
    expect(page.locator('[data-stage-tab="lists"]')).to_contain_text("Списки")

    # A server refusal is shown by its code, in Russian (no lists yet: no round).
    page.locator('[data-stage-tab="pick"]').click()
    page.get_by_role("button", name="Начать раунд").click()
    expect(page.locator(".starter form > .form-error")).to_have_text(
        "Слишком мало фильмов для голосования: сначала загрузите списки."
    )

    # Plurals: фильм, фильмов; a failed file keeps its name beside its error.
    page.locator('[data-stage-tab="lists"]').click()
    page.set_input_files(
        "#import-file",
        files=[csv_file("list.csv", lb_csv(HEAT))],
    )
    expect(page.locator(".import-status")).to_have_text("Загружен 1 фильм")
    page.set_input_files(
        "#import-file",
        files=[csv_file("bad.csv", b"a,b\n1,2\n")],
    )
    expect(page.locator(".imports .form-error")).to_contain_text("bad.csv: Этот файл не похож")
    five = lb_csv(HEAT, PARASITE, ALIEN, SOLARIS, CROCODILE)
    page.set_input_files("#import-file", files=[csv_file("list.csv", five)])
    expect(page.locator(".import-status")).to_have_text("Загружено 5 фильмов")
    expect(page.locator(".imports .form-error")).to_have_text("")
    expect(member(page, "Аня")).to_contain_text("5 фильмов")

    # Chat times on the 24-hour clock.
    page.get_by_label("Сообщение в чат").fill("Привет")
    page.keyboard.press("Enter")
    expect(page.locator(".chat-log time")).to_have_text(re.compile(r"^\d{1,2}:\d{2}$"))

    # The switch to English is remembered across a reload.
    page.locator('[data-action="language"]').select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    expect(page.locator(".chat-log li")).to_contain_text("Привет")
    page.reload()
    expect(page.locator('[data-stage-tab="lists"]')).to_contain_text("Lists")
    expect(page.locator(".chat-log time")).to_have_text(re.compile(r"^\d{1,2}:\d{2}\s[AP]M$"))
    context.close()
