import torch
import torch.nn.functional as F

from paint_lightning.models.clip_source import CLIPSource, build_clip
from paint_lightning.models.heads import HeadCache, build_zero_shot_head, text_tower_fingerprint


def _built(tiny_config, seed: int = 0):
    torch.manual_seed(seed)
    return build_clip(CLIPSource(config=tiny_config))


def test_head_equals_hand_computation(tiny_config) -> None:
    built = _built(tiny_config)
    model, tokenizer = built.model, built.tokenizer
    classnames, templates = ["cat", "dog", "red fox"], ["a photo of a {}.", "a {} in the wild."]
    head = build_zero_shot_head(model, tokenizer, classnames, templates, batch_size=4)
    rows = []
    with torch.no_grad():
        for name in classnames:
            embeddings = [F.normalize(model.encode_text(tokenizer([t.format(name)]))[0], dim=-1) for t in templates]
            mean = torch.stack(embeddings).mean(0)
            rows.append(mean / mean.norm() * model.logit_scale.exp())
    torch.testing.assert_close(head, torch.stack(rows), rtol=1e-5, atol=1e-6)
    assert head.shape == (3, tiny_config["embed_dim"])


def test_fingerprint_ignores_image_tower_but_not_text_tower(tiny_config) -> None:
    model = _built(tiny_config).model
    before = text_tower_fingerprint(model)
    with torch.no_grad():
        model.visual.conv1.weight.add_(1.0)
    assert text_tower_fingerprint(model) == before
    with torch.no_grad():
        model.ln_final.weight.add_(1.0)
    assert text_tower_fingerprint(model) != before


def test_cache_stores_and_reuses(tmp_path) -> None:
    cache = HeadCache(tmp_path)
    cfg, tok = {"embed_dim": 4}, {"type": "SimpleTokenizer", "context_length": 16}
    key = HeadCache.key("fp", cfg, tok, ["a", "b"], ["{}"])
    built = []

    def build() -> torch.Tensor:
        built.append(1)
        return torch.arange(6.0).view(2, 3)

    first = cache.get_or_build(key, build)
    second = cache.get_or_build(key, build)
    assert built == [1]
    assert torch.equal(first, second)
    assert HeadCache.key("fp2", cfg, tok, ["a", "b"], ["{}"]) != key
    assert HeadCache.key("fp", cfg, tok, ["a", "b"], ["a {}"]) != key
    assert HeadCache.key("fp", cfg, tok, ["b", "a"], ["{}"]) != key
    assert HeadCache.key("fp", {"embed_dim": 4, "quick_gelu": True}, tok, ["a", "b"], ["{}"]) != key
    assert HeadCache.key("fp", cfg, dict(tok, context_length=77), ["a", "b"], ["{}"]) != key


def test_damaged_cache_entry_is_rebuilt(tmp_path) -> None:
    cache = HeadCache(tmp_path)
    (tmp_path / "k.safetensors").write_bytes(b"not a safetensors file")
    head = cache.get_or_build("k", lambda: torch.ones(2, 2))
    assert torch.equal(head, torch.ones(2, 2))
    assert torch.equal(cache.get_or_build("k", lambda: torch.zeros(2, 2)), torch.ones(2, 2))


def test_cached_heads_are_not_shared_by_models_whose_configs_differ(tiny_config, tmp_path) -> None:
    """Same text weights, GELU vs QuickGELU: different text features, so different heads."""
    from paint_lightning.data.tasks import TaskSpec
    from paint_lightning.models import PaintModule

    weights = tmp_path / "clip.pt"
    torch.save(_built(tiny_config).model.state_dict(), weights)
    specs = [TaskSpec("t", "patch", ["cat", "dog", "bird"], ["a photo of a {}."])]
    quick_config = dict(tiny_config, quick_gelu=True)
    gelu = PaintModule(CLIPSource(config=tiny_config, pretrained=str(weights)), head_cache_dir=str(tmp_path / "c"))
    gelu.set_tasks(specs)
    quick = PaintModule(CLIPSource(config=quick_config, pretrained=str(weights)), head_cache_dir=str(tmp_path / "c"))
    quick.set_tasks(specs)
    uncached = PaintModule(CLIPSource(config=quick_config, pretrained=str(weights)), head_cache_dir=None)
    uncached.set_tasks(specs)
    assert not torch.allclose(gelu.heads["t"], uncached.heads["t"])  # the activation matters
    assert torch.equal(quick.heads["t"], uncached.heads["t"])  # so the cache must not hand out gelu's head
