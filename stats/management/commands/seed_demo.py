"""Build the demo province: union tree, staff, members and cards, rosters and a year of history,
merchants and offers — each app's demo builder in turn, from the bottom up (members, merchants,
discounts), and last a year of coverage snapshots.

Idempotent and deterministic for a given --seed. ``--json`` prints the demo sign-ins as one JSON
document (see DESIGN.md, "Demo data"); nothing else is printed to stdout then."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from allowances.demo import seed_allowances
from banking.demo import seed_banking
from cities import demo as cities_demo
from discounts import demo as discounts_demo
from funds.demo import seed_funds
from members import demo as members_demo
from members import demo_journeys, demo_rosters
from merchants import demo as merchants_demo
from settlement.demo import seed_settlement
from shop.demo import seed_shop
from stats import demo as stats_demo


class Command(BaseCommand):
    help = "Load the demo province (idempotent). --json prints the demo sign-ins."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--members", type=int, default=3000, help="members to create (default 3000)")
        parser.add_argument("--merchants", type=int, default=60, help="merchants to create (default 60)")
        parser.add_argument("--workplaces-per-county", type=int, default=4)
        parser.add_argument("--json", action="store_true", help="print the demo sign-ins as JSON")

    def handle(self, *args, **options):
        seed = options["seed"]
        log = (lambda message: None) if options["json"] else (lambda message: self.stderr.write(message))
        created = members_demo.seed_unions(seed=seed, workplaces_per_county=options["workplaces_per_county"])
        log(f"unions: {created} created")
        staff = members_demo.seed_staff(seed=seed)
        members = members_demo.seed_members(seed=seed, count=options["members"], log=log)
        log(f"issuance batches: {members_demo.seed_batches(seed=seed)} created")
        journeys = demo_journeys.seed_journeys()
        log(f"member journeys: {len(journeys)} members")
        demo_rosters.seed_rosters(seed=seed, log=log)
        log(f"roster imports: {demo_rosters.seed_roster_imports(seed=seed)} created")
        merchants = merchants_demo.seed_merchants(seed=seed, count=options["merchants"], log=log)
        discounts_demo.seed_offers(seed=seed, count=options["merchants"], log=log)
        merchants = discounts_demo.with_offers(merchants)
        merchants = discounts_demo.seed_sandbox(merchants, seed=seed, log=log)
        discounts_demo.seed_savings(members, log=log)
        seed_shop(seed=seed, members=members, log=log)
        cities_demo.seed_cities(log=log)
        log(f"benefit funds: {seed_funds(seed=seed)} opened")
        log(f"settlement statements: {seed_settlement(seed=seed, log=log)} made")
        stats_demo.seed_snapshots(log=log)
        bank_staff = seed_banking(seed=seed, log=log)
        seed_allowances(log=log)
        document = {
            "staff": staff,
            "merchants": merchants,
            "members": members,
            "journeys": journeys,
            "bank_staff": bank_staff,
        }
        if options["json"]:
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
        else:
            log(f"demo ready: {len(staff)} staff, {len(merchants)} merchants, {len(members)} members listed")
