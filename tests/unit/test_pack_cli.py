"""How ``localshop pack`` finds the running server it asks, from the ini's [server:main]."""
from __future__ import annotations

import pytest

from shop.scripts.cli import parser
from shop.scripts.pack import PackFailed, server_url


def ini(tmp_path, server: str):
    path = tmp_path / "shop.ini"
    path.write_text("[app:main]\nuse = egg:localshop\n\n[server:main]\nuse = egg:waitress#main\n"
                    + server)
    return str(path)


@pytest.mark.parametrize("server, url", [
    ("listen = 127.0.0.1:6543\n", "http://127.0.0.1:6543"),
    ("listen = *:8080\n", "http://127.0.0.1:8080"),
    ("listen = 0.0.0.0:80 [::]:80\n", "http://127.0.0.1:80"),
    ("listen = [::]:6543\n", "http://[::1]:6543"),
    ("listen = shop.internal:6543\nurl_scheme = https\nurl_prefix = /pypi/\n",
     "https://shop.internal:6543/pypi"),
    ("host = 127.0.0.2\nport = 7000\n", "http://127.0.0.2:7000"),
    ("host = 0.0.0.0\n", "http://127.0.0.1:8080"),
])
def test_the_server_is_asked_at_the_address_it_listens_on(tmp_path, server, url):
    assert server_url(ini(tmp_path, server)) == url


def test_a_server_without_a_tcp_port_needs_a_url(tmp_path):
    with pytest.raises(PackFailed, match="give --url"):
        server_url(ini(tmp_path, "listen = unix:/run/shop.sock\n"))


@pytest.mark.parametrize("days", ["-1", "soon", "nan"])
def test_malformed_days_are_refused_by_the_parser(days, capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(["-c", "x.ini", "pack", "--days", days])
    assert "days of history to keep" in capsys.readouterr().err


def test_days_default_to_keeping_no_history():
    args = parser().parse_args(["-c", "x.ini", "pack"])
    assert args.days == 0 and args.user == "admin" and args.run is not None
