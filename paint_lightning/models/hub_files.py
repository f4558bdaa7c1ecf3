"""Which files a model needs from a cache, whether they are there, and fetching them (``paint model``).

A model's weights come from the Hugging Face cache (``hf-hub:org/name``, and open_clip zoo tags
served by the hub), from open_clip's own download folder (zoo tags with only a URL), or from a
local file or folder. :func:`model_files` lists the files open_clip will read, looked up in the
caches only (nothing is downloaded, nothing reaches the network); :func:`download_model` fetches
them the way open_clip does.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from paint_lightning.models.hub import CONFIG_FILE, HF_HUB, HUB_WEIGHTS, LOCAL_DIR, hub_cache, local_weights

# open_clip's download folder for zoo tags given by URL (open_clip.pretrained.download_pretrained_from_url).
OPEN_CLIP_URL_CACHE = "~/.cache/clip"
# What transformers' AutoTokenizer reads for an ``hf_tokenizer_name`` text tower: its config and one vocabulary.
TOKENIZER_CONFIG = ("tokenizer_config.json",)
TOKENIZER_VOCAB = ("tokenizer.json", "spiece.model", "sentencepiece.bpe.model", "vocab.json", "vocab.txt")


@dataclass(frozen=True)
class NeededFile:
    """One file a model needs.

    Attributes:
        what: What it is (``config``, ``weights``).
        candidates: The names open_clip accepts, in its order (one of them is enough).
        found: The file found in the cache or on disk, or ``None``.
        folder: Where it is looked for (the cache folder of the repository, or the directory).
    """

    what: str
    candidates: tuple[str, ...]
    found: Path | None
    folder: Path


@dataclass(frozen=True)
class ModelFiles:
    """A model's files and how to get them.

    Attributes:
        model: The model as given (``hf-hub:org/name``, ``ViT-B-32`` + tag, a file...).
        source: Where its files come from, in words.
        files: The files it needs.
        fill: The command that puts them in place (``None`` for a local file: nothing downloads it).
        hub_repo: The Hugging Face repository they come from, if any.
        tokenizer_repo: The repository of its Hugging Face tokenizer (``text_cfg.hf_tokenizer_name``), if any.
    """

    model: str
    source: str
    files: tuple[NeededFile, ...]
    fill: str | None
    hub_repo: str | None = None
    tokenizer_repo: str | None = None

    @property
    def complete(self) -> bool:
        """Whether every needed file was found."""
        return all(f.found is not None for f in self.files)


def zoo_hub_source(name: str, tag: str) -> tuple[str | None, str | None, str]:
    """The hub repository, weights file (``None``: open_clip's default) and URL of an open_clip zoo tag."""
    from open_clip.pretrained import get_pretrained_cfg

    cfg = get_pretrained_cfg(name, tag) or {}
    hf_hub = str(cfg.get("hf_hub") or "")
    if not hf_hub:
        return None, None, str(cfg.get("url") or "")
    repo_id, filename = os.path.split(hf_hub)
    return repo_id, filename or None, str(cfg.get("url") or "")


def is_zoo_tag(name: str | None, pretrained: str) -> bool:
    """Whether ``pretrained`` is one of the zoo name's tags (else a file), as open_clip decides."""
    import open_clip

    if name and pretrained in open_clip.list_pretrained_tags_by_model(name):
        return True
    return not (os.sep in pretrained or Path(pretrained).suffix or Path(pretrained).expanduser().exists())


def model_files(name: str | None, pretrained: str | None = None, cache_dir: str | None = None) -> ModelFiles:
    """The files ``name`` (and ``pretrained``, a zoo tag or a file) needs, looked up without downloading.

    Raises:
        ValueError: For a zoo name without a tag, or a tag that ``name`` does not have.
    """
    if name and name.startswith(HF_HUB):
        repo_id = name[len(HF_HUB) :].strip()
        files = _hub_files(name, repo_id, None, cache_dir, f"the Hugging Face repository {repo_id}", True)
        config = files.files[0].found
        return with_tokenizer(files, _read_model_cfg(config) if config is not None else {})
    if name and name.startswith(LOCAL_DIR):
        folder = Path(name[len(LOCAL_DIR) :].strip()).expanduser()
        config = folder / CONFIG_FILE
        weights = local_weights(folder) if folder.is_dir() else None
        files = (
            NeededFile("config", (CONFIG_FILE,), config if config.is_file() else None, folder),
            NeededFile("weights", ("*.safetensors", "*.bin", "*.pth"), Path(weights) if weights else None, folder),
        )
        return ModelFiles(name, f"the folder {folder}", files, None)
    if pretrained and not is_zoo_tag(name, pretrained):
        path = Path(pretrained).expanduser()
        file = NeededFile("weights", (path.name,), path if path.is_file() else None, path.parent)
        return ModelFiles(f"{name or 'a config'} + {pretrained}", f"the file {path}", (file,), None)
    if not name or not pretrained:
        raise ValueError(
            f"--model={name!r}: give an hf-hub:org/name, a local-dir:path, or a zoo name with --pretrained <tag>."
        )
    from open_clip import get_model_config

    from paint_lightning.models.zoo import check_tag

    check_tag(name, pretrained, "--model")
    repo_id, filename, url = zoo_hub_source(name, pretrained)
    label = f"{name} + {pretrained}"
    if repo_id is not None:
        source = f"open_clip tag {pretrained}, on the Hugging Face hub as {repo_id}"
        files = _hub_files(label, repo_id, filename, cache_dir, source, False)
        return with_tokenizer(files, get_model_config(name) or {})
    folder = Path(cache_dir or OPEN_CLIP_URL_CACHE).expanduser()
    target = folder / os.path.basename(url)
    file = NeededFile("weights", (target.name,), target if target.is_file() else None, folder)
    return ModelFiles(label, f"open_clip tag {pretrained}, from {url}", (file,), _download_command(label, cache_dir))


def _hub_files(
    label: str, repo_id: str, filename: str | None, cache_dir: str | None, source: str, with_config: bool
) -> ModelFiles:
    """A hub repository's files as open_clip reads them (its config only for ``hf-hub:`` names)."""
    folder = hub_cache(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    if filename is None:
        weights = HUB_WEIGHTS
    else:  # open_clip tries the .safetensors twin of a .bin/.pth first
        stem, suffix = os.path.splitext(filename)
        weights = (stem + ".safetensors", filename) if suffix in (".bin", ".pth") else (filename,)
    needed = [("config", (CONFIG_FILE,))] if with_config else []
    needed.append(("weights", weights))
    files = tuple(NeededFile(what, names, _cached(repo_id, names, cache_dir), folder) for what, names in needed)
    fill = _download_command(label, cache_dir) + f" (or `hf download {repo_id}`)"
    return ModelFiles(label, source, files, fill, repo_id)


def with_tokenizer(files: ModelFiles, model_cfg: dict) -> ModelFiles:
    """``files`` plus the tokenizer files of a text tower with ``hf_tokenizer_name`` (a hub repository).

    transformers reads them from huggingface_hub's default cache (``HF_HUB_CACHE``), whatever
    ``cache_dir`` the weights come from.
    """
    repo_id = str((model_cfg.get("text_cfg") or {}).get("hf_tokenizer_name") or "")
    if not repo_id or "/" not in repo_id or Path(repo_id).expanduser().is_dir():
        return files
    folder = hub_cache(None) / f"models--{repo_id.replace('/', '--')}"
    needed = tuple(
        NeededFile(what, names, _cached(repo_id, names, None), folder)
        for what, names in (("tokenizer config", TOKENIZER_CONFIG), ("tokenizer vocabulary", TOKENIZER_VOCAB))
    )
    return dataclasses.replace(files, files=files.files + needed, tokenizer_repo=repo_id)


def _read_model_cfg(config: Path) -> dict:
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("model_cfg") or {} if isinstance(data, dict) else {}


def _cached(repo_id: str, names: tuple[str, ...], cache_dir: str | None) -> Path | None:
    """The first of ``names`` in the cache (huggingface_hub's lookup: no network)."""
    from huggingface_hub import try_to_load_from_cache

    for filename in names:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        if isinstance(found, str):
            return Path(found)
    return None


def _download_command(label: str, cache_dir: str | None) -> str:
    model, _, tag = label.partition(" + ")
    flags = f" --pretrained {tag}" if tag else ""
    cache = f" --cache_dir {cache_dir}" if cache_dir else ""
    return f"`paint model download --model {model}{flags}{cache}`"


def download_model(name: str | None, pretrained: str | None = None, cache_dir: str | None = None) -> ModelFiles:
    """Fetches what :func:`model_files` lists as missing, as open_clip would; returns the files after.

    Raises:
        ValueError: For a local file or folder that is missing (nothing can download it), when
            ``HF_HUB_OFFLINE=1`` forbids downloading, or when a download fails.
    """
    files = model_files(name, pretrained, cache_dir)
    if files.complete:
        return files
    if files.fill is None:
        raise ValueError(f"--model={files.model!r}: {files.source} is missing its files; nothing can download them.")
    from paint_lightning.models.hub import hub_offline

    if hub_offline() and files.hub_repo is not None:
        raise ValueError("HF_HUB_OFFLINE=1 forbids downloading; unset it (or run where there is network) to download.")
    try:
        if any(f.found is None for f in files.files if not f.what.startswith("tokenizer")):
            _download_weights(name, pretrained, cache_dir, files.hub_repo)
            files = model_files(name, pretrained, cache_dir)  # the config may name a tokenizer
        if files.tokenizer_repo is not None and not files.complete:
            from huggingface_hub import snapshot_download

            patterns = [*TOKENIZER_CONFIG, *TOKENIZER_VOCAB, "special_tokens_map.json", "config.json"]
            snapshot_download(repo_id=files.tokenizer_repo, allow_patterns=patterns)
    except Exception as err:  # no network, no such repository, refused...
        lines = str(err).strip().splitlines()
        raise ValueError(
            f"--model={files.model!r}: downloading {files.source} failed ({type(err).__name__}: "
            f"{lines[0] if lines else ''}). Check the name and the network, or log in with `hf auth login` "
            "for a gated or private repository."
        ) from err
    return model_files(name, pretrained, cache_dir)


def _download_weights(name: str | None, pretrained: str | None, cache_dir: str | None, repo: str | None) -> None:
    """open_clip's own download of a zoo tag, or of an ``hf-hub:`` repository's config and weights."""
    from open_clip.pretrained import download_pretrained, get_pretrained_cfg

    if name and name.startswith(HF_HUB):
        from huggingface_hub import hf_hub_download

        hf_hub_download(repo_id=repo, filename=CONFIG_FILE, cache_dir=cache_dir)
        download_pretrained({"hf_hub": f"{repo}/"}, cache_dir=cache_dir)
    else:
        download_pretrained(get_pretrained_cfg(name, pretrained), cache_dir=cache_dir)
