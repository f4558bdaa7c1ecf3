"""``paint push``: upload a hub export (``paint export --format hub``) to a Hugging Face model repository.

.. code-block:: bash

    paint push hub/ --repo org/name                  # creates org/name if needed, uploads the folder
    paint push hub/ --repo org/name --private --revision v1

The token is ``--token``, else huggingface_hub's own (``HF_TOKEN``, or ``hf auth login``). The
folder is checked first: it must hold what open_clip's ``hf-hub:`` loading reads.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paint_lightning.commands.failures import UserError
from paint_lightning.commands.hub_export import CARD, HUB_MODEL, REPO_ID
from paint_lightning.models.hub import CONFIG_FILE, hub_offline


def push_main(argv: Sequence[str]) -> None:
    """Runs ``paint push`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="paint push", description="Upload a hub export to the Hugging Face Hub.")
    parser.add_argument("folder", help="the folder `paint export --format hub` wrote")
    parser.add_argument("--repo", required=True, help="the model repository, org/name")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--token", default=None, help="a Hugging Face token (default: HF_TOKEN or `hf auth login`)")
    parser.add_argument("--revision", default=None, help="the branch to upload to (default: main)")
    parser.add_argument("--message", default=None, help="the commit message")
    args = parser.parse_args(list(argv))
    url = push(Path(args.folder), args.repo, args.private, args.token, args.revision, args.message)
    print(f"Uploaded {args.folder} to {url}\nLoad it with open_clip.create_model_and_transforms('hf-hub:{args.repo}')")


def push(
    folder: Path,
    repo: str,
    private: bool = False,
    token: str | None = None,
    revision: str | None = None,
    message: str | None = None,
) -> str:
    """Creates ``repo`` if needed and uploads ``folder`` to it; returns the commit's URL.

    Raises:
        UserError: For a folder that is not a hub export, a malformed ``repo``, no token, offline
            mode, or the hub refusing (naming the repository and the fix).
    """
    check_folder(folder)
    if not REPO_ID.match(repo):
        raise UserError(f"--repo={repo!r}: give the repository as org/name (e.g. my-org/clip-patched).", exit_code=2)
    if hub_offline():
        raise UserError("HF_HUB_OFFLINE=1 forbids uploading; unset it to push.", exit_code=2)
    from huggingface_hub import HfApi, get_token

    token = token or get_token()
    if not token:
        raise UserError(
            "no Hugging Face token: set HF_TOKEN, run `hf auth login`, or pass --token (a token with write access)."
        )
    api = HfApi(token=token)
    try:
        api.create_repo(repo, token=token, private=private, repo_type="model", exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo, branch=revision, token=token, repo_type="model", exist_ok=True)
        commit: Any = api.upload_folder(
            repo_id=repo,
            folder_path=str(folder),
            repo_type="model",
            revision=revision,
            token=token,
            commit_message=message or f"Upload {folder.name} (paint export --format hub)",
        )
    except Exception as err:  # refused token, no rights on the org, no network...
        lines = str(err).strip().splitlines()
        raise UserError(
            f"--repo={repo!r}: the Hugging Face Hub refused the upload ({type(err).__name__}: "
            f"{lines[0] if lines else ''}). Check the token's write access to {repo.split('/')[0]} and the network."
        ) from err
    return str(getattr(commit, "commit_url", None) or f"https://huggingface.co/{repo}")


def check_folder(folder: Path) -> None:
    """Refuses a folder that open_clip could not load as ``hf-hub:`` once uploaded.

    Raises:
        UserError: Naming the missing files and the command that writes them.
    """
    if not folder.is_dir():
        raise UserError(f"{str(folder)!r} is not a folder; `paint export --format hub --out <folder>` writes one.")
    missing = [name for name in (CONFIG_FILE, HUB_MODEL, CARD) if not (folder / name).is_file()]
    if missing:
        raise UserError(
            f"{folder} lacks {', '.join(missing)}: it is not a hub export. Write one with "
            "`paint export --run <run> --format hub --out <folder>`."
        )
