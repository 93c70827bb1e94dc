"""``vigie finance subsidy`` and ``vigie finance participation``: the money
rules from the command line, for scripts and checks. Neither needs a database."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from vigie.base.clock import RealClock, paris_today
from vigie.base.errors import InvalidArgument
from vigie.base.i18n import t


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "finance", help="fonds de concours and participations"
    )
    fsub = p.add_subparsers(dest="finance_command", required=True, metavar="ACTION")

    s = fsub.add_parser("subsidy", help="compute the fonds de concours of one project")
    s.add_argument("--eligible-cost", required=True, help="eligible expense excluding VAT, euros")
    s.add_argument("--total-cost", required=True, help="total cost of the project, euros")
    s.add_argument("--other-subsidies", default="0", help="other subsidies (region, State…), euros")
    s.add_argument(
        "--priority", action="store_true", help="priority project (renewal of obsolete equipment)"
    )
    s.add_argument(
        "--multi-commune", action="store_true", help="project carried by several communes"
    )
    s.add_argument(
        "--ceiling", default=None, help="ceiling per project, euros (default: programme's)"
    )
    s.add_argument(
        "--date", default=None, help="rules in force at this date, YYYY-MM-DD (default: today)"
    )
    s.add_argument(
        "--rules", type=Path, default=None, help="programme rules JSON (default: shipped)"
    )
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=_subsidy)

    q = fsub.add_parser("participation", help="share the centre's yearly cost among communes")
    q.add_argument(
        "--scenario", type=Path, required=True, help="scenario JSON (docs/design/finance.md)"
    )
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=_participation)


def _day(text: str | None) -> date:
    if text is None:
        return paris_today(RealClock())  # the command's clock
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(
            t("admin.date.invalid", field="--date", value=text), field="date"
        ) from None


def _subsidy(args: argparse.Namespace) -> int:
    from vigie.admin.subsidy import compute_grant, load_rules, rules_in_force

    rules = rules_in_force(_day(args.date), load_rules(args.rules))
    result = compute_grant(
        eligible_cost=args.eligible_cost,
        total_cost=args.total_cost,
        other_subsidies=args.other_subsidies,
        priority=args.priority,
        multi_commune=args.multi_commune,
        rules=rules,
        ceiling=args.ceiling,
    )
    if args.json:
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for step in result.steps:
            print(step)
    return 0


def _participation(args: argparse.Namespace) -> int:
    from vigie.admin.money import fmt_fr
    from vigie.admin.participation import compute, load_scenario

    result = compute(load_scenario(args.scenario))
    if args.json:
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(f"{result.scenario} — {fmt_fr(result.cost_to_cover)}")
    for line in result.lines:
        print(f"{line.insee_code}  {line.name:<32} {fmt_fr(line.total):>18}")
    print(f"{'':5}  {'Total':<32} {fmt_fr(result.total):>18}")
    return 0
