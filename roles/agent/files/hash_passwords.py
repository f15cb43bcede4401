"""bcrypt hashes for nsfleet-agent's basic_auth_users, keeping each hash that still matches its password.

stdin: {"user": "password", ...} as JSON; argv[1]: the web config written before (may be missing).
stdout: {"user": "$2b$...", ...} as JSON. Runs with the agent's virtualenv, which has bcrypt and PyYAML.
"""

import json
import sys

import bcrypt
import yaml

ROUNDS = 12


def current_hashes(path):
    try:
        with open(path) as config_file:
            config = yaml.safe_load(config_file) or {}
    except (OSError, yaml.YAMLError):
        return {}
    users = config.get("basic_auth_users") if isinstance(config, dict) else None
    return users if isinstance(users, dict) else {}


def hash_for(password, current):
    password = password.encode("utf-8")
    if isinstance(current, str):
        try:
            if bcrypt.checkpw(password, current.encode("utf-8")):
                return current
        except ValueError:  # not a bcrypt hash: make one
            pass
    return bcrypt.hashpw(password, bcrypt.gensalt(ROUNDS)).decode("ascii")


def main():
    passwords = json.load(sys.stdin)
    current = current_hashes(sys.argv[1])
    json.dump(dict((user, hash_for(str(password), current.get(user))) for user, password in passwords.items()),
              sys.stdout)


if __name__ == "__main__":
    main()
