"""`mentorship serve`'s gunicorn settings: no control socket shared between services."""

from __future__ import annotations

from gunicorn.config import Config as GunicornConfig

from plugin.serve import gunicorn_options
from tests.procs import healthy, serving, wait_for


def test_gunicorn_accepts_the_options_and_opens_no_control_socket():
    cfg = GunicornConfig()
    for key, value in gunicorn_options("127.0.0.1", 8000, workers=1).items():
        cfg.set(key, value)  # an unknown setting (an older gunicorn) would raise here
    assert cfg.control_socket_disable is True


def test_two_services_on_one_machine_run_side_by_side_without_a_control_socket(
    config, forum, tmp_path
):
    home = tmp_path / "home"
    home.mkdir()
    # gunicorn's default socket would be $HOME/.gunicorn/gunicorn.ctl, shared by both.
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": ""}
    with serving(config, "--no-worker", "--workers", "1", **env) as first:
        with serving(config, "--no-worker", "--workers", "1", **env) as second:
            assert wait_for(lambda: healthy(first) and healthy(second), 30)
    assert not (home / ".gunicorn").exists()
