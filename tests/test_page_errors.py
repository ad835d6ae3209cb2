"""Errors where the eye is: Start's and the corpus's errors in the main area
(and as a toast) in the reader's language, gone once their cause is; run
folders that cannot be read listed on the run picker's page, deletable."""
from __future__ import annotations

from tests.test_hardening import app, finish, small

BINARY = b"some text\x00more text " * 100
GOOD = ("the time traveller for so it will be convenient to speak of him " * 80).encode()


def main_errors(at) -> list[str]:
    return [e.value for e in at.main.error]


def side_errors(at) -> list[str]:
    return [e.value for e in at.sidebar.error]


def toasts(at) -> list[str]:
    return [x.proto.body for x in at.get("toast")]


def test_a_bad_upload_is_said_in_the_main_area_and_goes_with_a_good_one(registry):
    at = app()
    at.radio(key="corpus_src").set_value("upload").run()
    at.get("file_uploader")[0].upload("notes.txt", BINARY).run()
    assert [m for m in main_errors(at) if "looks binary" in m] and not side_errors(at)
    assert any("looks binary" in x for x in toasts(at))
    at.button(key="start").click().run()
    assert registry.list() == [] and len(main_errors(at)) == 1   # the cause, once
    at.get("file_uploader")[0].upload("book.txt", GOOD).run()
    assert main_errors(at) == [] and side_errors(at) == []
    at.button(key="start").click().run()
    assert len(registry.list()) == 1 and main_errors(at) == []


def test_starts_error_goes_when_the_setting_is_fixed_and_speaks_chinese(registry):
    at = app(query={"lang": "zh"})
    at.radio(key="corpus_src").set_value("paste").run()
    at.button(key="start").click().run()
    assert main_errors(at) == ["请先上传或粘贴文本。"] and not side_errors(at)
    assert registry.list() == []
    at.text_area(key="paste").input(GOOD.decode()).run()
    assert main_errors(at) == []


def test_unreadable_run_folders_are_listed_with_why_and_can_be_deleted(registry, tmp_path):
    from charrnn.runs import Registry
    keep = finish(registry.create(small(num_epochs=1)))
    bad = registry.root / "broken-run"
    bad.mkdir(parents=True)
    (bad / "meta.json").write_text("{not json")
    from charrnn.ui.core import get_registry, reset_registry
    reset_registry()   # a server started on this folder
    at = app()
    reg = get_registry()
    assert "broken-run" in reg.unreadable
    text = " ".join(w.value for w in at.main.warning)
    assert "broken-run" in text and "unreadable" in text
    at.button(key="delete_folder_broken-run").click().run()
    assert bad.exists()   # it asks first
    at.button(key="yes_delete_folder_broken-run").click().run()
    assert not bad.exists() and not reg.unreadable and reg.get(keep.id) is not None
    assert not [w for w in at.main.warning if "broken-run" in w.value]
    assert Registry(registry.root).problems == []
