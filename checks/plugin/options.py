"""Command-line options and what they resolve to: the env (a replayed bundle's: replaying.py) and the run options;
whether a pytest run is the suite's own at all (else the plugin stays out of it)."""

from __future__ import annotations

import copy
import difflib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from checks.plugin.pytest_internals import marker_names, rootdir_and_inifile, set_rootdir_and_inifile

if TYPE_CHECKING:  # this module is loaded by every pytest run of the venv: nothing heavy at import
    from checks.core import config as cfg
    from checks.core.collect import Options

ENV_VARIABLE = "BBWS_ENV"
ENV_INI = "bbws_env"
DEFAULT_ENV = "local"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("bbws", "BBWS storage compliance")
    g.addoption("--env", default=None, help=f"env in environments.toml (default: ${ENV_VARIABLE}, else the ini key "
                f"{ENV_INI}, else {DEFAULT_ENV}: the embedded moto world)")
    g.addoption("--environments", default=None, help="path to environments.toml (default: the project's)")
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
    parser.addini(ENV_INI, f"the env when neither --env nor ${ENV_VARIABLE} names one (default: {DEFAULT_ENV})",
                  default=DEFAULT_ENV)


EXIT_CODES = (
    ("0", "GO or CONDITIONAL GO (even when P2/P3 checks failed)"),
    ("1", "NO-GO: a P0/P1 check failed, a check could not be evaluated, or the run is incomplete"),
    ("2", "interrupted (Ctrl-C, SIGTERM): NO-GO, the bundle is written and marked incomplete"),
    ("3", "internal error, or the embedded world could not be built (NO-GO)"),
    ("4", "usage error: an option, -m marker, environments.toml, credentials, an unreachable endpoint, or the "
          "PDV-01 account guard (not a gate run)"),
    ("5", "no check selected (not a gate run)"),
)


@pytest.hookimpl(hookwrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Any:
    """`pytest --help` ends with the suite's exit codes (pytest's own help has no place for them)."""
    yield
    if getattr(config.option, "help", False):
        lines = ["", "BBWS storage compliance, exit status (non-zero exactly when the gate says NO-GO):"]
        print("\n".join([*lines, *(f"  {code}  {text}" for code, text in EXIT_CODES)]))


def env_name(config: pytest.Config) -> str:
    """--env, else $BBWS_ENV, else the ini key bbws_env, else local (pytest-django's order for its settings)."""
    return config.option.env or os.environ.get(ENV_VARIABLE) or str(config.getini(ENV_INI) or DEFAULT_ENV)


def load_env(path: str | None, name: str, project: Path | None = None) -> cfg.Env:
    """The env `name` of `path`, or of the project's environments.toml (see config.default_path)."""
    from checks.core import config as cfg

    source = Path(path) if path else cfg.default_path(project)
    try:
        envs = cfg.load(source)
    except cfg.ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if name not in envs:
        raise pytest.UsageError(f"--env {name!r} is not in {source}; valid envs: {', '.join(envs)}")
    return envs[name]


def run_options(env: cfg.Env, opt: Any) -> Options:
    from checks.core.collect import Options

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

ASKED = pytest.StashKey[bool]()  # a suite option is on the command line (or in addopts)
CHECKOUT = Path(__file__).resolve().parents[2]
DISTRIBUTION = "bbws-checks"


def suite_run(config: pytest.Config) -> bool:
    """Is this pytest run the suite's own? Only then does the plugin act (as pytest-html stays inert without
    --html): an option of the suite was given (--env, --replay, ...), or pytest's rootdir is the suite's: its
    checkout, or a project whose ini file lists the suite in `required_plugins`. Anywhere else it writes
    nothing, says nothing and leaves the exit status to pytest."""
    if config.stash.get(ASKED, False):
        return True
    if config.rootpath.resolve() == CHECKOUT:
        return True
    return DISTRIBUTION in required_plugins(config)


def required_plugins(config: pytest.Config) -> set[str]:
    try:
        names = config.getini("required_plugins")
    except ValueError:  # an ancient pytest without the key
        return set()
    return {re.split(r"[\s<>=!~;\[]", str(n), maxsplit=1)[0].lower().replace("_", "-") for n in names}


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Undo pytest's rootdir guess when a path option's value was taken for a test path, and run the
    suite from its checkout when it is asked for (an option of the suite) from another directory.

    pytest picks rootdir and inifile before any plugin's options are known, so in `--infra-repo ../x` it
    reads `../x` as a test path and takes the common ancestor of it as rootdir (pytest.ini lost, selftest/
    collected). This plugin is loaded as a pytest11 entry point before the conftests, with its options
    known: pick rootdir and inifile again from the real test paths, and apply that inifile's addopts.
    """
    asked = _asks_for_suite(parser, args)
    early_config.stash[ASKED] = asked
    if not asked:
        return  # not a run of the suite, or one whose rootdir pytest found itself
    ns = early_config.known_args_namespace
    paths = list(ns.file_or_dir)
    pin = not paths and _outside_checkout(early_config.invocation_params.dir) \
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


def registered_markers(config: pytest.Config) -> list[str]:
    return sorted({marker_name(line) for line in config.getini("markers")} - {""})


def marker_name(line: str) -> str:
    return line.split(":", 1)[0].split("(", 1)[0].strip()


def check_markexpr(config: pytest.Config, suite_markers: list[str]) -> None:
    """`-m smok` would deselect every check and exit 5: an unknown marker name is a usage error that lists the
    suite's markers (not pytest's own skip, xfail, ...) and names the nearest one."""
    expr = config.option.markexpr
    if not expr:
        return
    names = marker_names(expr)
    if names is None:
        return  # pytest reports a malformed expression itself
    known = registered_markers(config)
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    if not unknown:
        return
    hints = [f"{n!r} (did you mean {near[0]!r}?)" if (near := difflib.get_close_matches(n, suite_markers, 1, 0.6))
             else repr(n) for n in unknown]
    raise pytest.UsageError(f"-m {expr!r}: unknown marker {', '.join(hints)}; "
                            f"the suite's markers: {', '.join(suite_markers)}")
