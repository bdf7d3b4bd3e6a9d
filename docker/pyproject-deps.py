"""Print the requirements of pyproject.toml plus the given extras, one per line.

The Dockerfile installs them in a layer of their own, before the sources are
copied, so that editing the code does not download every dependency again.
    python3 pyproject-deps.py pyproject.toml monitor,gevent
"""

import sys

import tomllib


def main(path: str, extras: str = "") -> None:
    with open(path, "rb") as f:
        project = tomllib.load(f)["project"]
    reqs = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in filter(None, extras.split(",")):
        reqs += optional[extra]
    # An extra may name the project itself ("poolbench[celery]"): pip installs
    # the project in the next layer anyway.
    print("\n".join(r for r in reqs if not r.startswith(project["name"])))


if __name__ == "__main__":
    main(*sys.argv[1:])
