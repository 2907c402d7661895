"""``sharespec distinguish``: the shortest program on which two profiles or variants part."""
from __future__ import annotations

from sharespec.commands.common import UsageError

HELP = "the shortest program on which two profiles or named variants allow different results"


def add_arguments(parser) -> None:
    parser.add_argument("a", nargs="?", metavar="A",
                        help="a profile (linux, posix) or a named variant (linux+NAME, or NAME)")
    parser.add_argument("b", nargs="?", metavar="B", help="the other side, the same way")
    parser.add_argument("--list", action="store_true", help="list the named variants")
    parser.add_argument("--bound", type=int, default=None, metavar="K",
                        help="longest program searched (default 8; 6 with --all)")
    parser.add_argument("--menu", action="append", default=[], metavar="NAME",
                        help="search only this menu of operations (repeatable; default all: "
                             "see generators/distinguish.py)")
    parser.add_argument("--scope", default="", metavar="BOUNDS",
                        help="cap every menu's bounds, e.g. processes=2,threads=2 (processes, "
                             "threads, mappings, segments, objects)")
    parser.add_argument("--all", action="store_true",
                        help="search every program up to the bound and list one program per "
                             "kind of difference (the default when A and B are both plain profiles)")


def _capped_menus(names, scope_text):
    from dataclasses import replace

    from sharespec.generators.distinguish import MENU_BY_NAME, MENUS
    from sharespec.model.scope import parse_scope

    for name in names:
        if name not in MENU_BY_NAME:
            raise UsageError(f"--menu: unknown menu {name!r} (known: {', '.join(MENU_BY_NAME)})")
    menus = [MENU_BY_NAME[n] for n in names] if names else list(MENUS)
    if scope_text:
        try:
            parse_scope(scope_text)  # the same checks and messages as everywhere else
        except ValueError as e:
            raise UsageError(f"--scope: {e}") from None
        caps = {}
        capped = ("processes", "threads", "mappings", "segments", "objects")
        for part in filter(None, (p.strip() for p in scope_text.split(","))):
            name, value = (s.strip() for s in part.split("=", 1))
            if name not in capped:
                raise UsageError(f"--scope: {name!r} does not bound a menu "
                                 f"(use {', '.join(capped)}; the length is --bound)")
            caps[name] = int(value)
        try:   # a menu is a scope (generators/distinguish.py): its bounds are capped
            menus = [replace(m, scope=replace(m.scope, **{f: min(getattr(m.scope, f), v)
                                                         for f, v in caps.items()}))
                     for m in menus]
        except ValueError as e:
            raise UsageError(f"--scope: {e}") from None
    return menus


def main(args) -> int:
    from sharespec.generators.distinguish import describe, distinguish, where_they_part
    from sharespec.model.profiles import PROFILES
    from sharespec.model.variants import resolve_profile, variants

    if args.list:
        width = max(len(v.name) for v in variants())
        for v in variants():
            print(f"linux+{v.name:<{width}}  {v.rule:<4} {v.description}")
        return 0
    if not args.a or not args.b:
        raise UsageError("distinguish needs two profiles or variants, A and B (or --list)")
    try:
        a, b = resolve_profile(args.a), resolve_profile(args.b)
    except ValueError as e:
        raise UsageError(str(e)) from None
    listing = args.all or (args.a in PROFILES and args.b in PROFILES)
    bound = args.bound if args.bound is not None else (6 if listing else 8)
    if bound < 1:
        raise UsageError("--bound must be at least 1")
    menus = _capped_menus(args.menu, args.scope)
    names = ", ".join(m.name for m in menus)

    if listing:
        search, groups = where_they_part(a, b, bound, menus)
        for rules, d in groups:
            print(f"## {' '.join(rules)}: {len(d.program)} steps (menu {d.menu})")
            print(describe(d, a, b))
            print()
        print(f"{len(groups)} kinds of difference between {a} and {b} in programs of at most "
              f"{bound} steps (menus: {names}; {search.nodes} search nodes, "
              f"{search.not_applicable} steps left out as not applicable, "
              f"{search.seconds:.2f} s)")
        return 0

    search = distinguish(a, b, bound, menus)
    if search.found is None:
        print(f"no program of at most {bound} steps tells {a} and {b} apart "
              f"(menus searched completely: {names}; {search.nodes} search nodes, "
              f"{search.not_applicable} steps left out as not applicable, "
              f"{search.seconds:.2f} s)")
        return 0
    print(describe(search.found, a, b))
    print(f"# found in {search.seconds:.2f} s (menu {search.found.menu}, "
          f"{search.nodes} search nodes)")
    return 0
