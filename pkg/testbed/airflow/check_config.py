"""Check configurations with the DAGs' own resolver (dags/srb_config.py).

Usage: python check_config.py DAGS_FOLDER CASES_JSON
Each case: {"names": [...], "run_params": [...], "variable": raw Variable text or null,
"conf": run conf, "given": the run's params}. Prints one JSON list, one
{"cfg": ..., "source": ..., "warnings": [...], "error": message or null} per case.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    sys.path.insert(0, sys.argv[1])
    from srb_config import ConfigError, parse_variable, resolve

    out = []
    for case in json.loads(sys.argv[2]):
        try:
            variable = parse_variable(case.get("variable"))
            cfg, source, warnings = resolve(
                case["names"], case.get("run_params", []), variable, case.get("conf", {}), case.get("given", {})
            )
            out.append({"cfg": cfg, "source": source, "warnings": warnings, "error": None})
        except ConfigError as e:
            out.append({"cfg": None, "source": None, "warnings": None, "error": str(e)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
