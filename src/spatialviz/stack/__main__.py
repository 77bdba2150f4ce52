"""`python -m spatialviz.stack up|down|status` (what `make stack` and `make stack-down` run)."""

from __future__ import annotations

import argparse
import sys

from spatialviz.stack import netns
from spatialviz.stack.layout import MONITOR, PROMETHEUS_PORT, state_dir
from spatialviz.stack.procs import StackError
from spatialviz.stack.settings import Refused
from spatialviz.stack.up import Started, down, is_up, up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spatialviz.stack")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start the whole topology (make stack)")
    start.add_argument("--demo-points", type=int, default=300_000,
                       help="points in the demo LiDAR scene; 0: no demo")  # fmt: skip
    sub.add_parser("down", help="remove all of it (make stack-down)")
    sub.add_parser("status", help="is it up?")
    args = parser.parse_args(argv)
    state = state_dir()
    try:
        if args.command == "up":
            if is_up():
                print(f"the stack is already up ({', '.join(netns.existing())}); "
                      "`make stack-down` first to start it again")  # fmt: skip
                return 0
            started = up(state, args.demo_points)
            _print_how_to_reach(started, state)
        elif args.command == "down":
            if not is_up() and not netns.leftovers():
                print("the stack is not up: nothing to remove")
                return 0
            down()
        else:
            print("up" if is_up() else "down")
    except Refused as refusal:
        print(f"make stack: refused: {refusal}", file=sys.stderr)
        return 2
    except StackError as error:
        print(f"make stack: {error}", file=sys.stderr)
        return 1
    return 0


def _print_how_to_reach(started: Started, state: object) -> None:
    print(f"\nThe stack is up in {started.seconds:.0f} s.")
    print(f"  URL:        {started.url}/   (TLS 1.3 only; nginx is the only thing you can reach)")
    if started.ca_file is not None:
        print(f"  trust:      {started.ca_file}")
        print(f"              e.g. curl --cacert {started.ca_file} {started.url}/readyz")
    if started.demo:
        print("  sign in:    " + started.demo.replace("\n", "\n              "))
    print(f"  Prometheus: ip netns exec {MONITOR.netns} curl -s "
          f"http://{MONITOR.address('metrics')}:{PROMETHEUS_PORT}/api/v1/targets")  # fmt: skip
    print(f"  state/logs: {state}   stop: make stack-down")


if __name__ == "__main__":
    sys.exit(main())
