"""The Dash factory: importing starts nothing, every app it makes has its pages and its own callbacks."""

import dash

from frontend.app import create_dash


def test_each_app_gets_the_pages_and_all_callbacks():
    first, second = create_dash("http://127.0.0.1:9"), create_dash("http://127.0.0.1:9")
    assert {page["path"] for page in dash.page_registry.values()} >= {"/", "/runs", "/compare"}
    templates = {page["path_template"] for page in dash.page_registry.values()}
    assert {"/explore/<name>", "/runs/<run_id>"} <= templates
    # Attached with app.callback, not dash.callback: the second app is not left with dead buttons.
    assert len(first.callback_map) == len(second.callback_map) > 5
    assert first.server.extensions["phaselab_api"] is not second.server.extensions["phaselab_api"]


def test_the_navbar_lists_gallery_runs_compare_in_order():
    app = create_dash("http://127.0.0.1:9")
    nav = [page["name"] for page in dash.page_registry.values() if page.get("nav")]
    assert nav == ["Gallery", "Runs", "Compare"]
    assert app.title == "Phaselab"
