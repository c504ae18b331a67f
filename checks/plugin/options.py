"""Command-line options and what they resolve to: the env (a replayed bundle's: replaying.py) and the run options."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from checks.core import config as cfg
from checks.core.collect import Options
from checks.plugin.pytest_internals import marker_names, rootdir_and_inifile, set_rootdir_and_inifile


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("bbws", "BBWS storage compliance")
    g.addoption("--env", default="local", help="env in environments.toml (default: local, the embedded moto world)")
    g.addoption("--environments", default=None, help="path to environments.toml")
    g.addoption("--infra-repo", default=None, help="the infra repo (.github/workflows, terraform) for CI/CD checks")
    g.addoption("--plan-json", default=None, help="a `terraform show -json` plan to gate")
    g.addoption("--canary", action="store_true", help="run the canary write checks (PDV-03..05)")
    g.addoption("--fault", default="", help="inject runbook faults into the local world, e.g. DDB-03,S3-02")
    g.addoption("--replay", default=None, help="re-evaluate an evidence bundle offline")
    g.addoption("--compare-with", default=None, help="PDV-08: an evidence bundle of another env to compare with")
    g.addoption("--reports", default=None, help="where bundles go (default: <rootdir>/reports)")
    g.addoption("--sign-key", default=os.environ.get("BBWS_SIGN_KEY") or None,
                help="sign the bundle's manifest with this Ed25519 private key (ssh-keygen -t ed25519; default "
                "$BBWS_SIGN_KEY): manifest.json.sig, checked by ssh-keygen -Y verify -n bbws-evidence")
    g.addoption("--verify-key", default=None, help="with --replay: refuse the bundle unless manifest.json.sig "
                "verifies with this ssh-ed25519 public key")
    g.addoption("--waivers", default=None, help="accepted risks: a TOML file of [[waiver]] tables (default: the env's "
                "`waivers` in environments.toml); a replay uses the bundle's own copy")
    g.addoption("--allowed-signers", default=None, help="with --replay: verify each recorded approval against "
                "this ssh-keygen allowed_signers file (the principal allowed for its role)")
    g.addoption("--concurrency", type=int, default=None, help="parallel AWS reads (default: from environments.toml)")
    g.addoption("--severity", default=None, help="run only the checks of these catalog severities, e.g. P0,P1 "
                "(a partial selection, labelled as such in the evidence)")
    g.addoption("--list-checks", action="store_true", help="print the check catalog (id, title, severity, area, "
                "markers, tests, static counterpart, controls) and exit; reads no AWS, needs no credentials")


def load_env(path: str | None, name: str) -> cfg.Env:
    try:
        envs = cfg.load(path)
    except cfg.ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if name not in envs:
        raise pytest.UsageError(f"--env {name!r} is not in {path or cfg.DEFAULT_PATH}; valid envs: {', '.join(envs)}")
    return envs[name]


def run_options(env: cfg.Env, opt: Any) -> Options:
    infra = opt.infra_repo or (str(Path(env.source).parent / env.infra_repo) if env.infra_repo else None)
    plan = Path(opt.plan_json) if opt.plan_json else None
    if plan is not None and not plan.is_file():
        raise pytest.UsageError(f"--plan-json {plan}: no such file")
    if opt.infra_repo and not Path(opt.infra_repo).is_dir():
        raise pytest.UsageError(f"--infra-repo {opt.infra_repo}: no such directory")
    compare = Path(opt.compare_with) if opt.compare_with else None
    if compare is not None and not compare.is_dir():
        raise pytest.UsageError(f"--compare-with {compare}: no such bundle directory")
    return Options(infra_repo=Path(infra).resolve() if infra else None, plan_json=plan, compare_with=compare,
                   github_token=os.environ.get("GITHUB_TOKEN", ""),
                   github_api_url=os.environ.get("GITHUB_API_URL", "") or (env.github.api_url if env.github else ""),
                   github_repo=(env.github.repo if env.github else "") or os.environ.get("GITHUB_REPOSITORY", ""))




# ----- where the suite runs: pytest's rootdir and inifile, whatever the path options say -----

COLLECTED = pytest.StashKey[int]()  # items collected before -m / -k
NOTHING_HERE = pytest.StashKey[str]()  # set: pytest was started outside the checkout and found nothing
CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Undo pytest's rootdir guess when a path option's value was taken for a test path, and run the
    suite from its checkout when it is asked for (an option of the suite) from another directory.

    pytest picks rootdir and inifile before any plugin's options are known, so in `--infra-repo ../x` it
    reads `../x` as a test path and takes the common ancestor of it as rootdir (pytest.ini lost, selftest/
    collected). This plugin is loaded as a pytest11 entry point before the conftests, with its options
    known: pick rootdir and inifile again from the real test paths, and apply that inifile's addopts.
    """
    ns = early_config.known_args_namespace
    paths = list(ns.file_or_dir)
    pin = not paths and _asks_for_suite(parser, args) and _outside_checkout(early_config.invocation_params.dir) \
        and not ns.inifilename and not ns.rootdir and (CHECKOUT / "pytest.ini").is_file()
    if pin:
        paths = [str(CHECKOUT / "tests")]
    rootpath, inipath, inicfg, ignored = rootdir_and_inifile(
        inifile=ns.inifilename, override_ini=ns.override_ini, args=paths,
        rootdir_cmd_arg=ns.rootdir or None, invocation_dir=early_config.invocation_params.dir)
    if not pin and (rootpath, inipath) == (early_config.rootpath, early_config.inipath):
        return
    old_addopts = list(early_config.getini("addopts")) if early_config.inipath else []
    if old_addopts and args[:len(old_addopts)] == old_addopts:
        del args[:len(old_addopts)]
    set_rootdir_and_inifile(early_config, rootpath, inipath, inicfg, ignored)
    parser.extra_info["rootdir"], parser.extra_info["inifile"] = str(rootpath), str(inipath)
    addopts = list(early_config.getini("addopts"))
    args[:] = [*addopts, *args, *(paths if pin else [])]
    early_config.pluginmanager.consider_preparse(addopts, exclude_only=False)
    fresh = parser.parse_known_args(args, namespace=copy.copy(early_config.option))
    if fresh.confcutdir is None:
        fresh.confcutdir = str(inipath.parent if inipath else rootpath)
    early_config.known_args_namespace = fresh


def _asks_for_suite(parser: pytest.Parser, args: list[str]) -> bool:
    flags = {name for opt in parser.getgroup("bbws").options for name in opt.names()}
    return any(a.split("=", 1)[0] in flags for a in args)


def _outside_checkout(here: Path) -> bool:
    here = here.resolve()
    return here != CHECKOUT and CHECKOUT not in here.parents


def nothing_here_hint(config: pytest.Config) -> str | None:
    """One line saying where to run the suite from, when pytest was started elsewhere and found nothing."""
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return None
    here = config.invocation_params.dir
    if not _outside_checkout(here):
        return None
    return (f"no checks found in {here}: run the suite from its checkout (cd {CHECKOUT} && pytest ...), "
            f"or name its tests: pytest {CHECKOUT / 'tests'} ...")


def registered_markers(config: pytest.Config) -> list[str]:
    return sorted({line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")} - {""})


def check_markexpr(config: pytest.Config) -> None:
    """`-m smok` would deselect every check and exit 5: an unknown marker name is a usage error."""
    expr = config.option.markexpr
    if not expr:
        return
    names = marker_names(expr)
    if names is None:
        return  # pytest reports a malformed expression itself
    known = registered_markers(config)
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    if unknown:
        raise pytest.UsageError(f"-m {expr!r}: unknown marker {', '.join(map(repr, unknown))}; "
                                f"registered markers: {', '.join(known)}")
