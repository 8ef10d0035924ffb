"""The models page over a real socket on SQLite and PostgreSQL: the versions with who and
when and which is active, a version's YAML, the diff marking a changed line with a sign and
<ins>/<del>, the editor's validator answering a problem with its line (or "valid"), saving
as a new version (managers, not viewers), and activation and rollback (admins only, after a
confirmation) rescoring the leads."""

from __future__ import annotations

from html import unescape

from tests.api.conftest import MODEL
from tests.web.conftest import Web

CHANGED = MODEL.replace("name: test", "name: test-2").replace("points: 25}", "points: 50}", 1)
BAD = MODEL.replace("  weight: 0.5\n  max: 50", "  weight: lots\n  max: 50")


def test_versions_view_and_diff(web: Web) -> None:
    web.api.model()
    web.api.model(CHANGED, activate=False)
    viewer = web.as_role("viewer")
    page = viewer.http.get("/models")
    assert page.status_code == 200, page.text
    text = unescape(page.text)
    assert "test-2" in text and "Model versions, newest first" in text
    assert '<tr class="active">' in page.text and "since " in text
    assert "/models/edit" not in page.text and "/activate" not in page.text  # viewer
    one = viewer.http.get("/models/1")
    assert one.status_code == 200 and "industry, equals: software" in unescape(one.text)
    assert viewer.http.get("/models/99").status_code == 404
    diff = viewer.http.get("/models/diff", params={"a": 1, "b": 2})
    assert diff.status_code == 200
    body = unescape(diff.text)
    assert '<del><span class="sign">-</span>name: test</del>' in body
    assert '<ins><span class="sign">+</span>name: test-2</ins>' in body
    assert "points: 50}</ins>" in body and "points: 25}</del>" in body
    assert '<span class="ctx"><span class="sign"> </span>fit:</span>' in body
    same = viewer.http.get("/models/diff", params={"a": 1, "b": 1})
    assert "identical" in same.text
    assert viewer.http.get("/models/diff", params={"a": "x"}).status_code == 422


def test_the_validator_answers_problems_with_their_line(web: Web) -> None:
    manager = web.as_role("manager")
    editor = manager.http.get("/models/edit")
    assert editor.status_code == 200 and 'hx-post="/models/validate"' in editor.text
    token = manager.csrf("/models/edit")
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    bad = manager.http.post("/models/validate", data={"yaml": BAD}, headers=headers)
    assert bad.status_code == 200 and bad.text.startswith('<div id="problems"')
    assert 'data-line="4"' in bad.text and "line 4" in bad.text and "fit.weight" in bad.text
    broken = manager.http.post("/models/validate", data={"yaml": "a: [\n"}, headers=headers)
    assert "not valid YAML" in broken.text and "line " in broken.text
    good = manager.http.post("/models/validate", data={"yaml": MODEL}, headers=headers)
    assert ">valid</p>" in good.text and "problem" not in good.text.replace('id="problems"', "")
    no_token = manager.http.post("/models/validate", data={"yaml": MODEL})
    assert no_token.status_code == 403


def test_viewer_cannot_save_manager_saves_admin_activates(web: Web) -> None:
    web.api.model()
    web.api.lead(id="soft", email="a@soft.io", attributes={"industry": "software"})
    before = web.api.get("/leads/soft")["score"]

    viewer = web.as_role("viewer")
    assert viewer.http.get("/models/edit").status_code == 403
    token = viewer.csrf("/models")
    assert (
        viewer.http.post("/models", data={"yaml": CHANGED, "csrf_token": token}).status_code == 403
    )
    assert (
        viewer.http.post(
            "/models/validate", data={"yaml": CHANGED, "csrf_token": token}
        ).status_code
        == 403
    )
    assert viewer.http.post("/models/1/activate", data={"csrf_token": token}).status_code == 403

    manager = web.as_role("manager")
    token = manager.csrf("/models")
    editor = manager.http.get("/models/edit")
    assert "name: test" in editor.text  # starts from the active version
    invalid = manager.http.post("/models", data={"yaml": BAD, "csrf_token": token})
    assert invalid.status_code == 422
    assert '<li class="bad"><code>  weight: lots</code>' in unescape(invalid.text)
    saved = manager.http.post("/models", data={"yaml": CHANGED, "csrf_token": token})
    assert saved.status_code == 303 and saved.headers["location"] == "/models?saved=2"
    assert "Saved as version 2" in manager.http.get(saved.headers["location"]).text
    assert manager.http.get("/models/2/activate").status_code == 403
    assert manager.http.post("/models/2/activate", data={"csrf_token": token}).status_code == 403
    assert web.api.get("/leads/soft")["score"] == before

    admin = web.as_role("admin")
    confirm = admin.http.get("/models/2/activate")
    assert confirm.status_code == 200 and "Every lead is rescored" in confirm.text
    token = admin.csrf("/models")
    done = admin.http.post("/models/2/activate", data={"csrf_token": token})
    assert done.status_code == 303
    assert "activated=2" in done.headers["location"] and "changed=1" in done.headers["location"]
    after = web.api.get("/leads/soft")["score"]
    assert after > before
    assert "1 leads rescored, 1 of them changed" in admin.http.get(done.headers["location"]).text

    assert admin.http.get("/models/1/rollback").status_code == 404  # not the active one
    assert "becomes active again" in admin.http.get("/models/2/rollback").text
    back = admin.http.post("/models/2/rollback", data={"csrf_token": token})
    assert back.status_code == 303 and "activated=1" in back.headers["location"]
    assert web.api.get("/leads/soft")["score"] == before
    refused = admin.http.post("/models/2/rollback", data={"csrf_token": token})
    assert refused.status_code == 409 and "nothing to roll back" in refused.text
