"""README.md: what a newcomer reads first must be true of this repository."""

import re
from pathlib import Path

from app.demo import DEMO_SPEAKERS, DEMO_USERS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_demo_login_is_in_the_table():
    table = README[README.index("Demo logins"):README.index("`make test` runs")]

    for email in [user[0] for user in DEMO_USERS] + [speaker[0] for speaker in DEMO_SPEAKERS]:
        assert email in table, f"{email} is missing from the README's demo logins"


def test_links_and_paths_stay_inside_the_repository():
    """A clone holds only the repository: nothing may point outside it, and every relative
    link must lead to a file that is there."""
    assert "../" not in README
    for target in re.findall(r"\]\(([^)\s]+)\)", README):
        if re.match(r"[a-z]+:|#", target):
            continue
        assert (ROOT / target.split("#")[0]).exists(), f"README links to missing {target}"
