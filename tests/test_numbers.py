"""The numbers the paper's prose quotes come from the results files and the cited peers file, never from typing."""

import copy
import json
import re
from pathlib import Path

import pytest

from pixelflow.workbook.numbers import (
    MISSING_MARK,
    NUMBERS,
    format_count,
    format_fixed,
    format_tally,
    main,
    number_macros,
    read_records,
    write_numbers,
)
from pixelflow.workbook.peers import PEERS_FILE, load_peers, peer_numbers

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "paper" / "pixelflow.tex"
BIB = ROOT / "paper" / "references.bib"
MACRO = re.compile(r"\\newcommand\{\\(pf[^}]*)\}")


def dataset(n_train, n_test, available_train=None, available_test=None, seed=None):
    return {"n_train": n_train, "n_test": n_test, "n_train_available": available_train or n_train,
            "n_test_available": available_test or n_test, "subset_seed": seed}


def resolution_metrics():
    metrics = {}
    for texture in ("gray_scott", "gravel"):
        metrics[f"{texture} 2x rescaled perception"] = {"spectral_distance": 0.8, "style_distance_to_truth": 21.0}
        metrics[f"{texture} 4x rescaled perception"] = "diverged"
        metrics[f"{texture} 2x rescaled, dt=1/k"] = {"spectral_distance": 0.7, "style_distance_to_truth": 21.0}
        metrics[f"{texture} 4x rescaled, dt=1/k"] = "diverged"
    metrics.update({
        "gray_scott 2x rescaled PDE, dt=1/k²": {"spectral_distance": 0.35484, "style_distance_to_truth": None},
        "gray_scott 4x rescaled PDE, dt=1/k²": {"spectral_distance": 0.3871, "style_distance_to_truth": None},
        "gray_scott 2x bilinear upsampling": {"spectral_distance": 0.3987, "style_distance_to_truth": None},
        "gray_scott 4x bilinear upsampling": {"spectral_distance": 0.3988, "style_distance_to_truth": None},
        "gravel 2x rescaled PDE, dt=1/k²": {"spectral_distance": 0.24, "style_distance_to_truth": 0.14756},
        "gravel 4x rescaled PDE, dt=1/k²": {"spectral_distance": 0.35, "style_distance_to_truth": 61.0269},
        "gravel 2x bilinear upsampling": {"spectral_distance": 0.26, "style_distance_to_truth": 0.0353},
        "gravel 4x bilinear upsampling": {"spectral_distance": 0.25, "style_distance_to_truth": 0.0386},
        "gray_scott 1x training resolution": {"spectral_distance": 0.1234, "style_distance_to_truth": 0.01},
        "gray_scott 2x decoded NCA": {"spectral_distance": 0.2, "style_distance_to_truth": 0.1},
        "gray_scott 4x decoded NCA": {"spectral_distance": 0.3, "style_distance_to_truth": 0.1},
        "gray_scott 8x decoded NCA": {"spectral_distance": 0.4, "style_distance_to_truth": 0.1},
        "gray_scott 8x bilinear upsampling": {"spectral_distance": 0.5, "style_distance_to_truth": 0.05},
        "gravel 2x decoded NCA": {"spectral_distance": 0.2, "style_distance_to_truth": 0.0021},
        "gravel 4x decoded NCA": {"spectral_distance": 0.3, "style_distance_to_truth": 0.0152},
        "render cost": {"gray_scott: decoded NCA (grow + draw)": {"384": {"seconds": 0.2794, "peak_bytes": 1}},
                        "gray_scott: rescaled PDE, dt=1/k²": {"192": {"seconds": 41.27, "peak_bytes": 1}}},
    })
    return metrics


def table(columns, rows):
    """A results table with these column names and rows."""
    return {"columns": [{"name": c} for c in columns], "rows": rows}


def paired_table(rows):
    """A paired comparison table: ``{row label: (difference in points, McNemar p, Holm p)}``."""
    columns = ["Compared with", "Its acc. (%)", "Difference (pp)", "95 % CI (pp)", "Only ours right", "Only it right",
               "McNemar p", "Holm p", "Significant"]
    return {"columns": [{"name": c} for c in columns],
            "rows": [[label, 50.0, diff, "[..]", 1, 1, p, holm, "yes" if holm < 0.01 else "no"]
                     for label, (diff, p, holm) in rows.items()]}


def comparisons(notebook, lift, scattering, random_conv, cnn):
    """A notebook's comparisons table: (difference in points, McNemar p, Holm p) of four rows."""
    return {f"{notebook}_comparisons": paired_table({"0 steps (lift)": lift, "scattering J=2 L=8": scattering,
                                                     "random conv, same dim.": random_conv,
                                                     "pixels, CNN (trained)": cnn})}


def texture_metrics(chosen, gram, swd, pieces):
    """One texture's entry of the texture notebook's metrics: the PS distance (mean, s.d., seeds) per loss, the chosen
    loss."""
    return {"chosen_loss": chosen, "pieces_ps": pieces,
            "by_loss": {loss: {"PS": {"mean": mean, "sd": sd, "seeds": seeds}}
                        for loss, (mean, sd, seeds) in (("gram", gram), ("sliced_wasserstein", swd))}}


def records():
    """Small results records holding every number the prose quotes, shaped as the notebooks write them."""
    return {
        "01_mnist": {"data": [dataset(14000, 10000)], "metrics": {"test_accuracy_selected": 0.98206},
                     "tables": {**comparisons("01_mnist", (25.16, 0.0, 0.0), (0.14, 0.70, 1.0), (0.03, 0.8, 1.0),
                                              (0.26, 0.63, 1.0)),
                                "01_mnist_peer": table(["Method", "Test acc. (%)", "pixelflow-rc, 60k/10k (%)"],
                                                       [["wave (pixelflow-rc)", 86.63, 92.81],
                                                        ["raw pixels, logistic", 93.0, 92.61]]),
                                "01_mnist_peer_gap": table(
                                    ["Features", "Peer readout: logistic, C=1 (%)", "Our ridge readout (%)"],
                                    [["peer features (wave, pixelflow-rc)", 90.95, 86.63],
                                     ["our features (wave, pixelflow)", 90.94, 86.60]])}},
        "02_fashion_mnist": {"data": [dataset(2000, 1000, 60000, 10000, seed=0)],
                             "metrics": {"test_accuracy_selected": 0.9},
                             "tables": comparisons("02_fashion_mnist", (17.0, 0.0, 0.0), (0.79, 0.03996, 0.11987),
                                                   (0.9, 0.001, 0.003), (-0.8, 0.0001, 0.0004))},
        "03_cifar10": {"data": [dataset(4660, 846), dataset(4660, 846)],
                       "metrics": {"test_accuracy_selected": 0.58038},
                       "tables": {**comparisons("03_cifar10", (10.638, 4.6e-11, 1.9e-10), (-5.9102, 0.003479, 0.010437),
                                                (-3.1915, 0.0787, 0.15739), (2.48, 0.5, 0.5)),
                                  "03_cifar10_hflip": paired_table({"rgb: random_nca": (3.19, 0.22, 0.22)})}},
        "04_eikonal": {"tables": {"04_eikonal_families": {
            "columns": [{"name": c} for c in ("Family", "n", "Mean (± s.d. over draws)", "Worst draw")],
            "rows": [[family, 8, [mean, 0.001], worst] for family, mean, worst in (
                ("edge or corner source", 0.00277, 0.0038), ("two layers", 0.00864, 0.02236),
                ("slow disc", 0.00884, 0.0118), ("wall with a gap (free cells)", 0.01273, 0.02106),
                ("wall with a gap (all cells)", 0.03368, 0.0497), ("smooth random", 0.00447, 0.006))]}},
            "metrics": {"solve seconds": {"sizes": [64, 128, 256, 512], "wave reservoir": [0.021, 0.12, 0.55, 4.26],
                                          "fast marching": [0.0009, 0.003, 0.021, 0.1042]}}},
        "05_speedups": {"metrics": {"user_rules": [
            {"rule": "heat", "seconds": {"compiled": 0.05, "hand": 0.04, "function": 0.31}},
            {"rule": "lenia_like", "seconds": {"compiled": 0.30, "hand": 0.27, "function": 2.7}}],
            "samples_per_s pixelflow cpu (bench_peer_mnist.json)": 166636.8,
            "samples_per_s pixelflow-rc cpu (bench_peer_mnist.json)": 3415.6,
            "suite": [{"rule": "wave", "backend": "numpy", "grid": 32, "batch": 4096, "samples_per_s": 24904.9},
                      {"rule": "wave", "backend": "cpu", "grid": 32, "batch": 256, "samples_per_s": 120289.0},
                      {"rule": "wave", "backend": "cpu", "grid": 32, "batch": 4096, "samples_per_s": 121303.6},
                      {"rule": "random_nca", "backend": "cpu", "grid": 32, "batch": 4096, "samples_per_s": 15597.2},
                      {"rule": "random_nca", "backend": "cpu", "grid": 64, "batch": 4096, "samples_per_s": 3143.9}],
            "sweep": [{"rule": "wave", "backend": "cpu", "channels": 4, **point}
                      for point in ({"grid": 32, "batch": 256, "samples_per_s": 111151.0,  # first of its grid
                                     "minor_faults_per_call": 6845.5},
                                    {"grid": 32, "batch": 1024, "samples_per_s": 32431.0,
                                     "minor_faults_per_call": 5038.4},
                                    {"grid": 32, "batch": 4096, "samples_per_s": 143859.6,
                                     "minor_faults_per_call": 797.2},
                                    {"grid": 64, "batch": 64, "samples_per_s": 39714.0, "minor_faults_per_call": 0.0},
                                    {"grid": 64, "batch": 128, "samples_per_s": 30000.0,
                                     "minor_faults_per_call": 10.0},
                                    {"grid": 64, "batch": 256, "samples_per_s": 20789.0,
                                     "minor_faults_per_call": 3480.8})]}},
        "06_texture_nca": {"tables": {"06_texture_nca_metric": table(
                               ["Target", "Images", "n", "PS distance", "Held-out Gram distance"],
                               [[texture, images, 8, [1.0, 0.2], [gram, 0.001]] for texture, images, gram in (
                                   ("Gray-Scott labyrinth", "independent pieces", 0.0105),
                                   ("Gray-Scott labyrinth", "NCA, step 384", 0.0103),
                                   ("gravel photograph", "independent pieces", 0.014),
                                   ("gravel photograph", "NCA, step 384", 0.02))])},
                           "metrics": {"training": {"losses": ["gram", "sliced_wasserstein"], "seeds": [0, 1, 2]},
                                       **{tex: texture_metrics(*values) for tex, values in
                                          (("gray_scott", ("sliced_wasserstein", (2.946, 0.204, [2.75, 2.94, 3.15]),
                                                           (1.831, 0.05, [1.78, 1.83, 1.88]), 1.004)),
                                           ("gravel", ("gram", (1.5, 0.1, [1.4, 1.5, 1.6]), (1.6, 0.3, [1.3, 1.6, 1.9]),
                                                       0.98)))}}},
        "07_attention_inpainting": {
            "scale": "paper", "presets": {"paper": {"seeds": 3, "iterations": 2000, "unet_iterations": 20000}},
            "metrics": {"test hidden MSE attention NCA": {"mean": 0.004882, "sem": 1e-5},
                        "test hidden MSE convolution NCA": {"mean": 0.005944, "sem": 1e-5},
                        "test hidden MSE mean-of-neighbours fill": {"mean": 0.0212, "sem": 1e-5},
                        "test hidden MSE biharmonic fill": {"mean": 0.0124, "sem": 1e-5},
                        "test hidden MSE U-Net": {"mean": 0.0082938, "sem": 1e-4},
                        "U-Net": {"psnr": {"mean": 24.283}, "iterations": [8600, 20000, 4200]},
                        "attention NCA": {"psnr": {"mean": 27.3203}, "ssim": {"mean": 0.97564},
                                          "iterations": [2000, 2000, 2000]},
                        "convolution NCA": {"psnr": {"mean": 27.0158}, "ssim": {"mean": 0.96771},
                                            "iterations": [2000, 1400, 2000]},
                        "biharmonic fill": {"psnr": {"mean": 22.3611}},
                        "attention minus convolution, hidden MSE ×10³": {"low": -0.36214, "high": -0.19839}},
            "tables": {"07_attention_inpainting": {
                "columns": [{"name": "Method"}, {"name": "Parameters"}, {"name": "Train s"}],
                "rows": [["mean-of-neighbours fill", 0, None], ["attention NCA", 9520, 516.0],
                         ["convolution NCA", 9601, 165.0], ["U-Net", 7501, 28.0]]}}},
        "08_resolution_transfer": {"metrics": resolution_metrics()},
        "09_fixed_vs_learned": {"provenance": {"cpu_count": 2}, "scale": "paper",
                                "presets": {"paper": {"self_classifying": {"batch_size": 16}}}, "metrics": {
            "summary": {"fixed": {"test_accuracy_mean": 0.9633, "cost_s_mean": 40.0},
                        "learned (mix)": {"test_accuracy_mean": 0.9687, "cost_s_mean": 520.0},
                        "learned (mix, bias, inject)": {"test_accuracy_mean": 0.9671, "cost_s_mean": 540.0}},
            "self_classifying": {"test_accuracy": [0.9123], "params": 24196, "iterations": 1800, "agreement": 0.8766,
                                 "stopped_early": True,
                                 "train_s": 1260.0},
            "verdict": {"text": "No learned model is significantly more accurate than fixed random_nca reservoir "
                                "(mnist preset) (98.21 %).",
                        "entries": [{"name": "fixed random_nca reservoir (mnist preset)", "kind": "fixed",
                                     "params": 2000000, "test_accuracy": [0.9821, 0.9819, 0.9823], "cost_s": [100.0]},
                                    {"name": "self-classifying NCA", "kind": "learned", "params": 24196,
                                     "test_accuracy": [0.9123], "cost_s": [1300.0]},
                                    {"name": "CNN (trained, 12 epochs)", "kind": "learned", "params": 52000,
                                     "test_accuracy": [0.9889], "cost_s": [300.0]}]}},
            "tables": {"09_fixed_vs_learned_verdict": {
                "columns": [{"name": "Model"}, {"name": "Kind"}, {"name": "vs. fixed (pp)"}, {"name": "Holm p"}],
                "rows": [["fixed design", "fixed", None, None], ["self-classifying NCA", "learned", -70.9, 0.0],
                         ["CNN (trained, 12 epochs)", "learned", 0.68, 0.004],
                         ["learned (mix)", "learned", 0.3, 0.2]]}}},
        "10_time_series": {
            "scale": "smoke",
            "metrics": {"features": 100,
                        "verdicts": {"NARMA-10 | esn": "ESN better", "NARMA-10 | linear_esn": "CA better",
                                     "Mackey-Glass, 1 step | esn": "ESN better",
                                     "Mackey-Glass, 1 step | linear_esn": "linear ESN better (< 2 s.e.)",
                                     "5-bit memory (in-sample) | esn": "none (in-sample)",
                                     "memory capacity | esn": "CA better", "memory capacity | linear_esn": "tie"},
                        "test": {"memory capacity | wave": {"mean": 130.1}, "memory capacity | esn": {"mean": 26.0},
                                 "memory capacity | linear_esn": {"mean": 83.3}, "NARMA-10 | esn": {"mean": 0.17146},
                                 "NARMA-10 | wave": {"mean": 0.25222}, "NARMA-10 | linear_esn": {"mean": 0.2578}}},
            "presets": {"smoke": {"n_train": 600, "n_validation": 300, "n_test": 300, "washout": 100, "trials": 3,
                                  "seeds": [0]},
                        "paper": {"n_train": 2000, "n_validation": 1000, "n_test": 1000, "washout": 200, "trials": 48,
                                  "seeds": [0, 1, 2, 3, 4]}}},
        "11_scale_out": {"scale": "paper", "presets": {"paper": {"n_workers": 2}}},
    }


EXPECTED = [
    ("MnistTrainN", "14{,}000"), ("MnistTestN", "10{,}000"), ("MnistTrainShort", "14k"), ("MnistTestShort", "10k"),
    ("MnistSubsetNote", ""), ("MnistTestAcc", "98.21"),
    ("FashionTrainN", "60{,}000"), ("FashionTestN", "10{,}000"),
    ("FashionSubsetNote", " This build uses a subset of 2{,}000 training and 1{,}000 test images (seed 0)."),
    ("FashionTestAcc", "90.00"),
    ("CifarTrainN", "4{,}660"), ("CifarTestN", "846"), ("CifarSubsetNote", ""), ("CifarTestAcc", "58.04"),
    ("RandomConvBetterCount", "one"), ("RandomConvWorseCount", "none"), ("ScatteringBetterCount", "none"),
    ("ScatteringWorseCount", "none"), ("CnnBetterCount", "none"), ("CnnWorseCount", "one"),
    ("FixedMapVerdict", "significantly better than the other fixed feature maps of its size in one of six comparisons "
                        "and never significantly worse"),
    ("MnistRandomConvVerdict", "not significantly different ($+0.03$ points, Holm $p$ 1)"),
    ("MnistScatteringVerdict", "not significantly different ($+0.14$ points, Holm $p$ 1)"),
    ("MnistCnnVerdict", "not significantly different ($+0.26$ points, Holm $p$ 1)"),
    ("FashionRandomConvVerdict", "significantly more accurate, by 0.90 points (Holm $p$ 0.003)"),
    ("FashionScatteringVerdict", "not significantly different ($+0.79$ points, Holm $p$ 0.12)"),
    ("FashionCnnVerdict", "significantly less accurate, by 0.80 points (Holm $p$ 0.0004)"),
    ("CifarRandomConvVerdict", "not significantly different ($-3.19$ points, Holm $p$ 0.16)"),
    ("CifarScatteringVerdict", "not significantly different ($-5.91$ points, Holm $p$ 0.01)"),
    ("CifarCnnVerdict", "not significantly different ($+2.48$ points, Holm $p$ 0.5)"),
    ("CifarHflipVerdict", "not significantly different ($+3.19$ points, Holm $p$ 0.22)"),
    ("MnistPeerWaveShortfall", "6.2 points below"), ("MnistPeerPixelsShortfall", "0.4 points above"),
    ("MnistPeerFeatureGap", "0.03"),
    ("MnistLiftGain", "25.2"), ("FashionLiftGain", "17.0"), ("CifarLiftGain", "10.6"),
    ("CifarScatteringGap", "5.9"), ("CifarScatteringP", "0.0035"), ("CifarScatteringHolm", "0.01"),
    ("TsEsnBetter", "NARMA-10 and Mackey-Glass (1 step)"), ("TsCaBetterThanEsn", "memory capacity"),
    ("TsLinearBetter", "no task"), ("TsCaBetterThanLinear", "NARMA-10"),
    ("TsLargestMemory", r"the \texttt{wave} reservoir"),
    ("TsNarmaWave", "0.252"), ("TsNarmaLinearEsn", "0.258"), ("TsNarmaEsn", "0.171"),
    ("TsTrainN", "600"), ("TsValidationN", "300"), ("TsTestN", "300"), ("TsWashout", "100"), ("TsTrials", "3"),
    ("TsSeeds", "1"), ("TsFeatures", "100"),
    ("ScaleOutWorkers", "2"),
    ("EikonalDraws", "8"), ("EikonalEdgeMean", "0.003"), ("EikonalLayersMean", "0.009"),
    ("EikonalLayersWorst", "0.022"),
    ("EikonalDiscMean", "0.009"), ("EikonalWallMean", "0.013"), ("EikonalWallWorst", "0.021"),
    ("EikonalWallAllMean", "0.034"), ("EikonalSmoothMean", "0.004"),
    ("EikonalLargestMean", "0.013"),
    ("EikonalSpeedGridSmall", "64"), ("EikonalSpeedRatioSmall", "23"), ("EikonalSpeedGrid", "512"),
    ("EikonalSpeedWave", "4.3"), ("EikonalSpeedFmm", "0.104"), ("EikonalSpeedRatio", "41"),
    ("TextureSeeds", "3"), ("TextureGrayScottLoss", "sliced Wasserstein"), ("TextureGravelLoss", "Gram"),
    ("TextureGrayScottGramPs", r"2.95\ensuremath{\pm}0.20"), ("TextureGrayScottSwdPs", r"1.83\ensuremath{\pm}0.05"),
    ("TextureGravelGramPs", r"1.50\ensuremath{\pm}0.10"), ("TextureGravelSwdPs", r"1.60\ensuremath{\pm}0.30"),
    ("TextureGrayScottPiecesPs", "1.00"), ("TextureGravelPiecesPs", "0.98"),
    ("TextureGrayScottChosenPs", r"1.83\ensuremath{\pm}0.05"),
    ("TextureGramBelowPieces", "The Gram score places the NCA's output below independent pieces of its own target for "
                               "the Gray-Scott labyrinth: it rewards closeness to the training image, and its low "
                               r"values in Table~\ref{tab:06_texture_nca} do not show that the textures were "
                               "reproduced."),
    ("TextureVersusPieces", "neither loss makes the rules reproduce their textures at this budget: every one of the 12 "
                            "models stays further from its texture than another piece of it, the closest at 1.3 "
                            "times the pieces' distance"),
    ("TextureVersusPiecesShort", "stay further from their textures than another piece of the texture"),
    ("TextureLossOverlap", "overlap for gravel only"),
    ("InpaintAttentionMse", "4.88"), ("InpaintConvolutionMse", "5.94"), ("InpaintFillMse", "21.20"),
    ("InpaintAttentionParams", "9{,}520"), ("InpaintConvolutionParams", "9{,}601"), ("InpaintTrainRatio", "3.1"),
    ("InpaintBiharmonicMse", "12.40"), ("InpaintUnetParams", "7{,}501"), ("InpaintUnetMse", "8.29"),
    ("InpaintUnetPsnr", "24.28"), ("InpaintUnetIterations", "20{,}000"), ("InpaintAttentionPsnr", "27.32"),
    ("InpaintConvolutionPsnr", "27.02"), ("InpaintBiharmonicPsnr", "22.36"), ("InpaintAttentionSsim", "0.976"),
    ("InpaintConvolutionSsim", "0.968"), ("InpaintDiffLow", "-0.36"), ("InpaintDiffHigh", "-0.20"),
    ("InpaintRanking", "attention NCA, convolution NCA, U-Net, biharmonic fill and mean-of-neighbours fill"),
    ("InpaintSeeds", "3"), ("InpaintIterationCap", "2{,}000"),
    ("InpaintAttentionVersusConvolution", "consistently better than"),
    ("InpaintAttentionVersusBiharmonic", "better than"),
    ("InpaintNcaCaps", "5 of the 6 NCA trainings ran into the cap of 2{,}000 iterations before their validation loss "
                       "met the plateau rule (the caption lists the iterations run)"),
    ("InpaintNcaCapsShort", ", though 5 of the 6 NCA trainings stopped at the iteration cap before their validation "
                            "loss levelled off"),
    ("InpaintUnetCap", "it ran into that cap on 1 of its 3 seeds"), ("InpaintUnetTrainShare", "5"),
    ("UserRuleCompiledOverHand", "1.25"), ("UserRuleCompiledVersusHand", "is slower than"),
    ("UserRuleFunctionLow", "6.2"), ("UserRuleFunctionHigh", "9.0"),
    ("PeerSpeedup", "48.8"), ("PeerCpuRate", "166{,}637"), ("SuiteWaveRate", "121{,}304"),
    ("SweepWaveRate", "143{,}860"), ("SweepFaultPoints", "2"), ("SweepFaultValues", "4{,}194{,}304"),
    ("SweepFaultsLow", "3{,}481"), ("SweepFaultsHigh", "5{,}038"), ("SweepFaultsOther", "797"),
    ("SweepFaultDrops", "throughput at 1 of them is below that of a smaller batch on the same grid that does not "
                        "fault, as it would if the memory of a call's feature array went back to the system after "
                        "the call and the next call faulted it in afresh"),
    ("SuiteRandomNcaRate", "15{,}597"), ("SuiteRandomNcaLargeRate", "3{,}144"),
    ("ResolutionDivergedAt", r"\ensuremath{4\times}"),
    ("ResolutionGrayScottPdeTwo", "0.355"), ("ResolutionGrayScottPdeFour", "0.387"),
    ("ResolutionGrayScottBilinearTwo", "0.399"), ("ResolutionGrayScottBilinearFour", "0.399"),
    ("ResolutionGravelPdeStyleTwo", "0.148"), ("ResolutionGravelPdeStyleFour", "61.027"),
    ("ResolutionGravelBilinearStyleTwo", "0.035"), ("ResolutionGravelBilinearStyleFour", "0.039"),
    ("ResolutionGrayScottTraining", "0.123"), ("ResolutionGrayScottDecodedTwo", "0.200"),
    ("ResolutionGrayScottDecodedFour", "0.300"), ("ResolutionGrayScottDecodedEight", "0.400"),
    ("ResolutionGrayScottBilinearEight", "0.500"), ("ResolutionGravelDecodedStyleTwo", "0.002"),
    ("ResolutionGravelDecodedStyleFour", "0.015"),
    ("ResolutionSpectrumClosest", r"at \ensuremath{2\times}, \ensuremath{4\times} and \ensuremath{8\times} for "
                                  r"Gray--Scott and at \ensuremath{2\times} for gravel"),
    ("ResolutionGravelStyleClosest", r"at \ensuremath{2\times} and \ensuremath{4\times}"),
    ("ResolutionGrayScottUpsamplingStyleCloser", r"at \ensuremath{8\times}"), ("ResolutionDecodedEightMs", "279"),
    ("ResolutionPdeFourS", "41.3"),
    ("FvlFixedAcc", "96.33"), ("FvlLearnedAcc", "96.87"), ("FvlLearnedGain", "0.54"), ("FvlLearnedCostRatio", "13.0"),
    ("SelfClassAcc", "91.23"), ("SelfClassParams", "24{,}196"), ("SelfClassIterations", "1{,}800"),
    ("SelfClassBatch", "16"), ("SelfClassStop", "when its error on the validation images stopped improving"),
    ("SelfClassAgreement", "87.7"), ("SelfClassTrainMinutes", "21"),
    ("VerdictFixedAcc", "98.21"), ("VerdictFixedParams", "2{,}000{,}000"), ("VerdictCnnAcc", "98.89"),
    ("VerdictCnnParams", "52{,}000"),
    ("VerdictLearnedCount", "three"), ("VerdictBetterCount", "one"),
    ("LearnedCostVerdict", "Here one of the three learned models buys significantly higher accuracy with training."),
    ("LearnedCpuCores", "2"),
]

PEER = {"id": "MnistWave", "notebook": "01_mnist", "label": "wave (peer)", "value": 92.81, "decimals": 2,
        "unit": "%", "metric": "test accuracy", "dataset": "MNIST", "split": "60k train / 10k test",
        "n_train": 60000, "protocol": "wave, 4 steps, logistic readout", "source": "README", "bibkey": "peer2026"}


def bodies(text):
    return dict(re.findall(r"^\\newcommand\{\\pf([A-Za-z]+)\}\{(.*)\}(?:%.*)?$", text, flags=re.M))


# ---------------------------------------------------------------- the macros


def test_macros_from_records_exact_text():
    macros = number_macros(records(), peers=[PEER])
    header = ("% Numbers quoted in the paper's text, generated by pixelflow.workbook.numbers from the results\n"
              "% records and pixelflow/workbook/peers.json; none missing.\n")
    lines = [rf"\newcommand{{\pf{name}}}{{{body}}}" for name, body in EXPECTED]
    lines += [r"\newcommand{\pfPeerMnistWave}{92.81}% peer2026: test accuracy, MNIST",
              r"\newcommand{\pfPeerMnistWaveTrainN}{60{,}000}% peer2026: n_train"]
    assert macros.missing == []
    assert macros.text == header + "\n".join(lines) + "\n"


def test_every_number_of_the_prose_is_covered_by_the_synthetic_records():
    """A number added to NUMBERS without a case here would go untested."""
    assert [name for name, _, _ in NUMBERS] == [name for name, _ in EXPECTED]


def test_time_series_numbers_come_from_the_records_own_scale():
    recs = records()
    recs["10_time_series"]["scale"] = "paper"
    got = bodies(number_macros(recs, peers=[]).text)
    assert (got["TsTrainN"], got["TsTrials"], got["TsSeeds"]) == ("2{,}000", "48", "5")


@pytest.mark.parametrize("n, expected", [
    (0, "0"), (999, "999"), (1000, "1{,}000"), (4660, "4{,}660"), (60000, "60{,}000"),
    (1234567, "1{,}234{,}567"), (-1500, "-1{,}500"),
])
def test_format_count_separates_thousands_for_latex(n, expected):
    assert format_count(n) == expected


@pytest.mark.parametrize("bad", [1000.0, True, "1000", None])
def test_format_count_rejects_what_is_not_an_int(bad):
    with pytest.raises(TypeError, match="format_count: n must be an int"):
        format_count(bad)


@pytest.mark.parametrize("n, expected", [(0, "none"), (1, "one"), (4, "four"), (9, "nine"), (10, "10"),
                                         (1200, "1{,}200")])
def test_format_tally_spells_out_numbers_below_ten(n, expected):
    assert format_tally(n) == expected


@pytest.mark.parametrize("bad", [-1, 2.0, True, "3", None])
def test_format_tally_rejects_what_is_not_a_count(bad):
    with pytest.raises(ValueError, match=r"format_tally: n must be an int >= 0, got"):
        format_tally(bad)


def test_format_fixed_rounds_to_the_printed_precision_and_rejects_non_finite():
    assert (format_fixed(98.20667, 2), format_fixed(61.02693, 3), format_fixed(3, 1)) == ("98.21", "61.027", "3.0")
    with pytest.raises(ValueError, match="finite number, got nan"):
        format_fixed(float("nan"), 2)
    with pytest.raises(ValueError, match="decimals must be an int >= 0, got -1"):
        format_fixed(1.0, -1)


def test_missing_key_is_a_visible_marker_and_reported():
    recs = records()
    del recs["07_attention_inpainting"]["metrics"]["test hidden MSE attention NCA"]
    macros = number_macros(recs, peers=[])
    got = bodies(macros.text)
    # The number is marked; the rest of the notebook's numbers are still read.
    assert got["InpaintAttentionMse"] == MISSING_MARK
    assert got["InpaintConvolutionMse"] == "5.94" and got["InpaintAttentionPsnr"] == "27.32"
    assert macros.missing == [
        r"\pfInpaintAttentionMse (07_attention_inpainting: no metrics/test hidden MSE attention NCA)",
        r"\pfInpaintAttentionVersusBiharmonic (07_attention_inpainting: no metrics/test hidden MSE attention NCA)",
    ]
    assert "2 missing, printed as ??." in macros.text
    assert r"\newcommand{\pfInpaintAttentionMse}{\textbf{??}}% missing: 07_attention_inpainting: no metrics/" \
           in macros.text


def test_a_value_that_is_not_a_number_is_missing_not_formatted():
    recs = records()
    recs["08_resolution_transfer"]["metrics"]["gray_scott 4x rescaled PDE, dt=1/k²"] = "diverged"
    recs["09_fixed_vs_learned"]["provenance"]["cpu_count"] = None
    recs["03_cifar10"]["metrics"]["test_accuracy_selected"] = True
    macros = number_macros(recs, peers=[])
    got = bodies(macros.text)
    assert got["ResolutionGrayScottPdeFour"] == got["LearnedCpuCores"] == got["CifarTestAcc"] == MISSING_MARK
    assert any("dt=1/k² is 'diverged', which has no 'spectral_distance'" in line for line in macros.missing)
    assert any("provenance/cpu_count is None, not a whole number" in line for line in macros.missing)


def test_a_notebook_without_results_leaves_its_numbers_missing_and_the_others_read():
    recs = records()
    del recs["08_resolution_transfer"]
    macros = number_macros(recs, peers=[])
    got = bodies(macros.text)
    resolution = [name for name, nb, _ in NUMBERS if nb == "08_resolution_transfer"]
    assert all(got[name] == MISSING_MARK for name in resolution)
    assert macros.missing == [rf"\pf{name} (08_resolution_transfer: no results file)" for name in resolution]
    assert got["MnistTestAcc"] == "98.21"


def test_a_zero_denominator_is_missing_not_infinite():
    recs = records()
    recs["07_attention_inpainting"]["tables"]["07_attention_inpainting"]["rows"][2][2] = 0.0
    macros = number_macros(recs, peers=[])
    assert bodies(macros.text)["InpaintTrainRatio"] == MISSING_MARK
    assert "ratio is undefined" in macros.missing[0]


def test_numbers_drawn_from_several_notebooks_need_all_of_them():
    recs = records()
    del recs["02_fashion_mnist"]
    macros = number_macros(recs, peers=[])
    assert bodies(macros.text)["RandomConvBetterCount"] == MISSING_MARK
    assert (r"\pfRandomConvBetterCount (01_mnist+02_fashion_mnist+03_cifar10: no results file for 02_fashion_mnist)"
            in macros.missing)
    recs = records()
    recs["03_cifar10"]["tables"]["03_cifar10_comparisons"]["rows"][2][8] = "maybe"
    assert bodies(number_macros(recs, peers=[]).text)["RandomConvWorseCount"] == MISSING_MARK


def test_a_sweep_without_fault_counts_or_without_a_faulting_point_leaves_those_numbers_missing():
    recs = records()
    sweep = recs["05_speedups"]["metrics"]["sweep"]
    sweep[1]["minor_faults_per_call"] = None  # a platform that keeps no page-fault counts
    macros = number_macros(recs, peers=[])
    assert bodies(macros.text)["SweepFaultPoints"] == MISSING_MARK
    assert any("minor_faults_per_call is null" in line for line in macros.missing)
    for row in sweep:
        row["minor_faults_per_call"] = 10.0
    assert bodies(number_macros(recs, peers=[]).text)["SweepFaultsHigh"] == MISSING_MARK
    assert bodies(number_macros(recs, peers=[]).text)["SweepWaveRate"] == "143{,}860"


def test_the_throughput_of_faulting_sweep_points_is_compared_with_smaller_batches_of_their_grid():
    recs = records()
    sweep = recs["05_speedups"]["metrics"]["sweep"]
    got = lambda: bodies(number_macros(recs, peers=[]).text)["SweepFaultDrops"]  # noqa: E731
    sweep.insert(1, {"rule": "wave", "backend": "cpu", "channels": 4, "grid": 32, "batch": 512,
                     "samples_per_s": 50000.0, "minor_faults_per_call": 3.0})
    assert got().startswith("throughput at every one of them is below that of a smaller batch on the same grid")
    for point in sweep:
        point["samples_per_s"] = 1e6 if point["minor_faults_per_call"] >= 1000 else 1.0
    assert got() == ("throughput at none of them is below that of a smaller batch on the same grid that does not "
                     "fault")
    del sweep[1], sweep[-2]  # no point free of faults precedes a faulting one on its grid
    assert got() == "no smaller batch on the same grid is free of faults to compare their throughput with"


def test_the_compiled_kernel_is_called_slower_than_the_hand_fused_one_only_where_it_is():
    recs = records()
    rules = recs["05_speedups"]["metrics"]["user_rules"]
    got = lambda: bodies(number_macros(recs, peers=[]).text)  # noqa: E731
    rules[0]["seconds"]["compiled"] = 0.03
    assert (got()["UserRuleCompiledVersusHand"], got()["UserRuleCompiledOverHand"]) == (
        "is sometimes slower than", "1.11")
    rules[1]["seconds"]["compiled"] = 0.27  # as fast as by hand: not slower
    assert (got()["UserRuleCompiledVersusHand"], got()["UserRuleCompiledOverHand"]) == ("is no slower than", "1.00")


def test_sequence_verdicts_list_tasks_as_prose_does_and_say_when_there_is_none():
    recs = records()
    verdicts = recs["10_time_series"]["metrics"]["verdicts"]
    verdicts["Mackey-Glass, 84-step free run | esn"] = "ESN better"
    got = bodies(number_macros(recs, peers=[]).text)
    assert got["TsEsnBetter"] == "NARMA-10, Mackey-Glass (1 step) and Mackey-Glass (84-step free run)"
    for key in verdicts:
        verdicts[key] = "tie"
    assert bodies(number_macros(recs, peers=[]).text)["TsEsnBetter"] == "no task"


def test_diverged_factors_are_read_from_the_runs():
    recs = records()
    metrics = recs["08_resolution_transfer"]["metrics"]
    for key in [k for k, v in metrics.items() if v == "diverged"]:
        metrics[key] = {"spectral_distance": 0.9, "style_distance_to_truth": 1.0}
    assert bodies(number_macros(recs, peers=[]).text)["ResolutionDivergedAt"] == "none of the tested factors"
    metrics["gravel 2x rescaled, dt=1/k"] = metrics["gravel 4x rescaled perception"] = "diverged"
    assert bodies(number_macros(recs, peers=[]).text)["ResolutionDivergedAt"] == (
        r"\ensuremath{2\times} and \ensuremath{4\times}")


def test_the_fixed_map_verdict_counts_both_maps_on_the_three_sets():
    recs = records()
    table = recs["02_fashion_mnist"]["tables"]["02_fashion_mnist_comparisons"]
    random_conv = next(row for row in table["rows"] if row[0] == "random conv, same dim.")
    random_conv[-1] = "no"
    verdict = lambda: bodies(number_macros(recs, peers=[]).text)["FixedMapVerdict"]  # noqa: E731
    assert verdict() == ("neither significantly better nor significantly worse than the other fixed feature maps of "
                         "its size")
    scattering = next(row for row in recs["03_cifar10"]["tables"]["03_cifar10_comparisons"]["rows"]
                      if row[0] == "scattering J=2 L=8")
    scattering[-1] = "yes"  # CIFAR-10: -5.9 points
    assert verdict() == ("significantly worse than the other fixed feature maps of its size in one of six comparisons "
                         "and never significantly better")
    random_conv[-1] = "yes"
    assert verdict() == ("significantly better than the other fixed feature maps of its size in one of six comparisons "
                         "and significantly worse in one")
    # The trained CNN is not a fixed feature map: its significant win on Fashion-MNIST counts nowhere here.
    assert "CNN" not in verdict()


def test_texture_claims_follow_every_seed_and_the_spread_of_the_losses():
    recs = records()
    gravel = recs["06_texture_nca"]["metrics"]["gravel"]
    got = lambda: bodies(number_macros(recs, peers=[]).text)  # noqa: E731
    gravel["by_loss"]["sliced_wasserstein"]["PS"]["seeds"][0] = 0.9  # one seed below another piece (0.98)
    assert got()["TextureVersusPieces"] == "1 of the 12 models come as close to their texture as another piece of it"
    assert got()["TextureVersusPiecesShort"] == ("come as close to their texture as another piece of it in 1 of 12 "
                                                 "models")
    gray_scott = recs["06_texture_nca"]["metrics"]["gray_scott"]["by_loss"]
    gray_scott["sliced_wasserstein"]["PS"]["sd"] = 1.0  # |2.946 - 1.831| < 0.204 + 1.0
    assert got()["TextureLossOverlap"] == "overlap for both textures"
    gravel["by_loss"]["gram"]["PS"]["mean"] = 3.0
    assert got()["TextureLossOverlap"] == "overlap for Gray--Scott only"
    gray_scott["sliced_wasserstein"]["PS"]["sd"] = 0.05
    assert got()["TextureLossOverlap"] == "overlap for neither texture"
    rows = recs["06_texture_nca"]["tables"]["06_texture_nca_metric"]["rows"]
    rows[3][-1][0] = 0.01
    assert got()["TextureGramBelowPieces"].startswith("The Gram score places the NCA's output below independent "
                                                      "pieces of its own target for both textures: ")
    rows[1][-1][0] = rows[3][-1][0] = 0.5
    assert got()["TextureGramBelowPieces"] == ("The Gram score places the NCA's output above independent pieces of "
                                               "its target for every texture, as a texture metric should.")
    recs["06_texture_nca"]["metrics"]["gray_scott"]["chosen_loss"] = "gram"
    assert got()["TextureGrayScottChosenPs"] == r"2.95\ensuremath{\pm}0.20"


def test_inpainting_claims_follow_the_interval_and_the_iterations_run():
    recs = records()
    metrics = recs["07_attention_inpainting"]["metrics"]
    got = lambda: bodies(number_macros(recs, peers=[]).text)  # noqa: E731
    metrics["convolution NCA"]["iterations"] = [2000, 2000, 2000]
    assert got()["InpaintNcaCaps"] == (
        "every NCA training ran into the cap of 2{,}000 iterations before its validation loss met the plateau rule "
        "(the caption lists the iterations run), so both rules are undertrained by the standard the notebook sets "
        "itself")
    assert got()["InpaintNcaCapsShort"] == (", though every NCA training stopped at the iteration cap before its "
                                            "validation loss levelled off")
    metrics["attention NCA"]["iterations"] = metrics["convolution NCA"]["iterations"] = [1200, 1800, 1999]
    metrics["U-Net"]["iterations"] = [300]
    assert got()["InpaintNcaCaps"] == ("every NCA training met the plateau rule within the cap of 2{,}000 iterations "
                                       "(the caption lists the iterations run)")
    assert got()["InpaintNcaCapsShort"] == ""
    assert got()["InpaintUnetCap"] == "it met the plateau rule within that cap on every seed"
    interval = metrics["attention minus convolution, hidden MSE ×10³"]
    interval["low"], interval["high"] = -0.1, 0.2
    assert got()["InpaintAttentionVersusConvolution"] == "neither consistently better nor consistently worse than"
    interval["low"] = 0.05
    assert got()["InpaintAttentionVersusConvolution"] == "consistently worse than"
    metrics["test hidden MSE attention NCA"]["mean"] = 0.02
    assert got()["InpaintAttentionVersusBiharmonic"] == "worse than"


def test_where_the_decoded_nca_is_closest_is_read_from_every_scored_method():
    recs = records()
    metrics = recs["08_resolution_transfer"]["metrics"]
    got = lambda: bodies(number_macros(recs, peers=[]).text)  # noqa: E731
    metrics["gravel 4x decoded NCA"]["spectral_distance"] = 0.1
    assert got()["ResolutionSpectrumClosest"] == "at every finer resolution for both textures"
    # A diverged or unscored method is no rival; a method that did better anywhere is.
    metrics["gravel 4x unscaled rule"] = "diverged"
    metrics["gray_scott 8x PDE"] = {"spectral_distance": None}
    assert got()["ResolutionSpectrumClosest"] == "at every finer resolution for both textures"
    for key, value in metrics.items():
        if "decoded NCA" in key:
            value["spectral_distance"] = value["style_distance_to_truth"] = 9.0
    assert got()["ResolutionSpectrumClosest"] == "at no finer resolution"
    assert got()["ResolutionGravelStyleClosest"] == "at no finer resolution"
    assert got()["ResolutionGrayScottUpsamplingStyleCloser"] == r"at \ensuremath{8\times}"  # where bilinear is scored
    del metrics["gravel 2x decoded NCA"], metrics["gravel 4x decoded NCA"]
    macros = number_macros(recs, peers=[])
    assert bodies(macros.text)["ResolutionGravelStyleClosest"] == MISSING_MARK
    assert any(line.startswith(r"\pfResolutionSpectrumClosest (08_resolution_transfer: no 'gravel <k>x decoded NCA'")
               for line in macros.missing)


def test_the_learned_cost_verdict_follows_the_significant_wins():
    recs = records()
    rows = recs["09_fixed_vs_learned"]["tables"]["09_fixed_vs_learned_verdict"]["rows"]
    rows[2][3] = 0.5  # the CNN's win no longer significant
    assert bodies(number_macros(recs, peers=[]).text)["LearnedCostVerdict"] == (
        "None of them earns its cost on this task; where learned rules earn theirs is elsewhere.")
    rows[1][2:] = [1.0, 0.001]
    rows[2][3] = 0.001
    assert bodies(number_macros(recs, peers=[]).text)["LearnedCostVerdict"] == (
        "Here two of the three learned models buy significantly higher accuracy with training.")


def test_macro_names_are_letters_only_latex_names():
    text = number_macros(records(), peers=load_peers()).text
    names = MACRO.findall(text)
    assert len(names) == len(set(names)) > len(NUMBERS)
    assert all(re.fullmatch(r"pf[A-Za-z]+", name) for name in names), names
    bad = dict(PEER, id="Mnist2Wave")
    with pytest.raises(ValueError, match=r"peers\[0\]: id 'Mnist2Wave' must be letters only"):
        number_macros(records(), peers=[bad])


def test_a_peer_id_that_repeats_a_macro_is_an_error():
    with pytest.raises(ValueError, match=r"gives the macro \\pfPeerMnistWave, which is already defined"):
        number_macros({}, peers=[PEER, dict(PEER, notebook="02_x")])


def test_records_must_be_a_mapping_of_records():
    with pytest.raises(TypeError, match="records must be a mapping"):
        number_macros([records()["01_mnist"]], peers=[])
    with pytest.raises(TypeError, match="the record of '01_mnist' must be a mapping"):
        number_macros({"01_mnist": "01_mnist.json"}, peers=[])


# ---------------------------------------------------------------- writing the file


def write_results(folder, recs):
    folder.mkdir()
    for name, record in recs.items():
        (folder / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_write_numbers_writes_the_file_and_lists_what_is_missing(tmp_path, capsys):
    recs = records()
    del recs["11_scale_out"]
    path = write_numbers(recs, tmp_path / "generated")
    assert path == tmp_path / "generated" / "numbers.tex"
    assert path.read_text() == number_macros(recs).text
    err = capsys.readouterr().err
    assert "1 number(s) missing" in err and r"\pfScaleOutWorkers (11_scale_out: no results file)" in err


def test_main_reads_a_results_folder(tmp_path, capsys):
    results = write_results(tmp_path / "results", records())
    (results / "05_speedups.json.stale").write_text("not read")
    assert main([str(results), str(tmp_path / "out")]) == 0
    assert bodies((tmp_path / "out" / "numbers.tex").read_text())["MnistTestAcc"] == "98.21"
    assert capsys.readouterr().err == ""


def test_read_records_names_a_bad_file(tmp_path):
    results = write_results(tmp_path / "results", {"01_mnist": records()["01_mnist"]})
    (results / "02_fashion_mnist.json").write_text("{truncated")
    with pytest.raises(ValueError, match=r"02_fashion_mnist\.json: not a readable JSON results file"):
        read_records(results)
    (results / "02_fashion_mnist.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"02_fashion_mnist\.json: a results file holds a JSON object, got list"):
        read_records(results)
    with pytest.raises(ValueError, match="does not exist"):
        read_records(tmp_path / "nowhere")
    assert main([str(results), str(tmp_path / "out")]) == 1


# ---------------------------------------------------------------- published numbers of other work


def bib_keys():
    return set(re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), flags=re.M))


def test_every_peer_number_says_what_where_how_and_who():
    peers = load_peers()
    assert peers
    for entry in peers:
        for key in ("value", "decimals", "metric", "dataset", "split", "protocol", "source", "bibkey"):
            assert entry.get(key) not in (None, ""), (entry["id"], key)
        assert entry["bibkey"] in bib_keys(), entry["bibkey"]


def test_the_paper_cites_every_source_of_a_peer_number():
    tex = PAPER.read_text(encoding="utf-8")
    cited = {key.strip() for group in re.findall(r"\\(?:cite[pt]?|nocite)\{([^}]*)\}", tex) for key in group.split(",")}
    assert {entry["bibkey"] for entry in load_peers()} <= cited
    assert "faldor2025cax" in cited


def test_peer_numbers_give_a_notebook_its_rows():
    assert peer_numbers("01_mnist") == {"wave (pixelflow-rc)": 92.81, "diffusion_reaction (pixelflow-rc)": 92.13,
                                        "raw pixels, logistic": 92.61}
    assert set(peer_numbers("04_eikonal")) == {"32×32 centre, constant", "64×64 centre, constant",
                                               "64×64 off-centre, constant", "64×64 centre, radial"}
    with pytest.raises(ValueError, match="no published numbers for notebook '99_nothing'; it has numbers for "
                                         "01_mnist, 04_eikonal"):
        peer_numbers("99_nothing")


@pytest.mark.parametrize("notebook, table", [("01_mnist", "01_mnist_peer"), ("04_eikonal", "04_eikonal_errors")])
def test_the_committed_tables_show_the_peers_file_numbers(notebook, table):
    """The notebooks read the peers file by row label: a renamed row would drop its published number."""
    record = json.loads((ROOT / "results" / "paper" / f"{notebook}.json").read_text(encoding="utf-8"))
    shown = {row[0]: row[-1] for row in record["tables"][table]["rows"] if row[-1] is not None}
    assert shown == peer_numbers(notebook)


def write_peers(tmp_path, entries):
    path = tmp_path / "peers.json"
    path.write_text(json.dumps({"numbers": entries}), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    ({"bibkey": None}, r"numbers\[0\]: 'bibkey' must be a non-empty string, got None"),
    ({"split": ""}, r"numbers\[0\]: 'split' must be a non-empty string"),
    ({"value": "92.81"}, r"numbers\[0\]: 'value' must be a finite number, got '92.81'"),
    ({"decimals": 1.5}, r"numbers\[0\]: 'decimals' must be an int >= 0"),
    ({"n_train": 0}, r"numbers\[0\]: 'n_train' must be an int >= 1"),
    ({"label": None}, r"numbers\[0\]: 'label' must be a string"),
    ({"acuracy": 1}, r"numbers\[0\] has unknown field\(s\) 'acuracy'"),
])
def test_load_peers_names_the_file_and_the_bad_field(tmp_path, change, message):
    entry = copy.deepcopy(PEER)
    entry.update(change)
    path = write_peers(tmp_path, [entry])
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": " + message):
        load_peers(path)


def test_load_peers_rejects_a_missing_field_and_repeats(tmp_path):
    entry = {k: v for k, v in PEER.items() if k != "protocol"}
    with pytest.raises(ValueError, match=r"'protocol' must be a non-empty string, got None"):
        load_peers(write_peers(tmp_path, [entry]))
    with pytest.raises(ValueError, match=r"numbers\[1\] repeats the id \('MnistWave',\) of numbers\[0\]"):
        load_peers(write_peers(tmp_path, [PEER, dict(PEER, label="other")]))
    with pytest.raises(ValueError, match=r"numbers\[1\] repeats the row \('01_mnist', 'wave \(peer\)'\)"):
        load_peers(write_peers(tmp_path, [PEER, dict(PEER, id="Other")]))
    (tmp_path / "peers.json").write_text("[]")
    with pytest.raises(ValueError, match="holds an object with a list 'numbers', got list"):
        load_peers(tmp_path / "peers.json")


def test_the_default_peers_file_is_the_one_beside_the_module():
    assert PEERS_FILE.parent == ROOT / "pixelflow" / "workbook" and PEERS_FILE.is_file()


# ---------------------------------------------------------------- the paper


# Numbers that were once typed into the prose; each now comes from a macro.
FORMERLY_TYPED = [
    "14{,}000", "10{,}000", "4{,}660", "846", "60k/10k", "14k-train", "92.81", "92.13", "92.61",
    "several times more", "about\nthree times", "three times its training time", "diverge at $4\\times$",
    "two-core", "two worker processes", "about 25 points", "about 17 points", "about 11 points",
    "about 6 points", "about 3 points", "below 0.004",
]


def test_the_paper_types_none_of_the_numbers_that_come_from_results():
    tex = PAPER.read_text(encoding="utf-8")
    assert r"\input{generated/numbers.tex}" in tex
    found = [literal for literal in FORMERLY_TYPED if literal in tex]
    assert found == []


def test_every_macro_the_paper_uses_is_defined_by_the_committed_paper_results():
    tex = PAPER.read_text(encoding="utf-8")
    macros = number_macros(read_records(ROOT / "results" / "paper"))
    assert macros.missing == []
    defined = set(MACRO.findall(macros.text)) | set(MACRO.findall(tex)) | {"pfscale", "pfcommit", "pffigdir"}
    used = set(re.findall(r"\\(pf[A-Za-z]+)", tex))
    undefined = sorted(name for name in used - defined if not name.startswith(("pfdraft", "pfcommit", "pfstale")))
    assert undefined == []
    # And the paper quotes every number the file defines for it (the peers' sizes aside).
    unused = sorted(name for name, _, _ in NUMBERS if f"pf{name}" not in used)
    assert unused == []
