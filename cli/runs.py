"""`harflow runs` (the pipeline's runs from ML Metadata) and `harflow compare` (a run's model comparison,
the mean over several runs, or with --rescore its models scored again under another protocol)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harflow.cli.options import UsageError, add_command, add_dataset, add_eval_clips, add_name, add_work_dir, config_from
from harflow.config import IngestConfig, PipelineConfig


def add_commands(commands) -> None:
    runs = add_command(commands, "runs", cmd_runs, "the pipeline's runs from ML Metadata; `runs show [RUN]`: one run's evaluation")
    runs.add_argument("action", nargs="?", choices=["list", "show"], default="list", help="list (default) or show")
    runs.add_argument("run", nargs="?", help="with show: a run id from `harflow runs` (default: the newest)")
    runs.add_argument("--out", help="with show: write the Markdown to this file instead of printing it")
    add_work_dir(runs)
    add_name(runs)
    compare = add_command(commands, "compare", cmd_compare, "print the model comparison of a run (every variant on the test split)")
    compare.add_argument(
        "runs", nargs="*", default=[PipelineConfig().work_dir], metavar="RUN",
        help="work dir or comparison folder (default: %(default)s); several (e.g. the runs of splits 1, 2 and 3): "
        "the mean accuracy and top-5 over them, per variant",
    )
    add_name(compare)
    rescore = compare.add_argument_group("scoring a run again (--rescore)")
    rescore.add_argument("--rescore", metavar="OUT_DIR", help="score RUN's models again on its test videos and write the comparison here")
    add_eval_clips(rescore)
    add_dataset(rescore, help="the run's dataset (default: RUN/data/synth, where `harflow demo` puts it)", default=None)


def cmd_runs(args: argparse.Namespace) -> int:
    """List the pipeline runs recorded in ML Metadata (when, which trainer variants, TFMA accuracy and top-k
    accuracy, blessed or not, the model version pushed). `harflow runs show [RUN]` prints one run's
    evaluation (the newest by default) as Markdown: metrics, per-class recall and precision, per-category
    accuracy when the gate has a class->category mapping, and the confusion matrix."""
    import logging

    from harflow.pipeline.report import RUNS_HEADER, evaluation_page, run_line, text_table
    from harflow.pipeline.run import list_runs

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TFMA's reader warns of a deprecated TF API
    config = config_from(PipelineConfig, args)
    runs = list_runs(config)
    if not runs:
        raise UsageError(f"{config.absolute().metadata_path}: no pipeline runs recorded yet")
    if args.action != "show":
        print(text_table(RUNS_HEADER, [run_line(run) for run in runs]))
        return 0
    chosen = [run for run in runs if args.run in (None, run.run_id)]
    if not chosen:
        raise UsageError(f"no run {args.run!r} in {config.absolute().metadata_path}; `harflow runs` lists them")
    text = evaluation_page(chosen[-1])
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Print the comparison table a run wrote (ModelComparison): per variant best epoch, accuracy, loss, val
    accuracy and loss, top-5, training time, parameters, inference ms per clip, per-category and
    direction-pair accuracy. RUN is a work dir (the newest comparison in its ML Metadata) or a comparison
    folder; with several RUNs, the mean over them (UCF101/HMDB51's protocol: the mean over splits 1-3).
    --rescore OUT_DIR scores one run's models again on its test videos, cut into --eval-clips N clips
    each (no training), and writes that comparison to OUT_DIR."""
    from harflow.components.model_comparison.report import MARKDOWN, mean_over_runs
    from harflow.pipeline.comparisons import comparison_folder

    if args.rescore:
        return rescore_run(args)
    folders = [comparison_folder(run, args.name) for run in args.runs]
    if len(folders) == 1:
        print((Path(folders[0]) / MARKDOWN).read_text())
    else:
        print(mean_over_runs(folders))
    print(f"(files: {', '.join(folders)})")
    return 0


def rescore_run(args: argparse.Namespace) -> int:
    """--rescore OUT_DIR: RUN's models scored again on its test videos, --eval-clips N clips each."""
    from harflow.cli.pipeline import demo_data
    from harflow.components.model_comparison.rescore import rescore
    from harflow.pipeline.comparisons import comparison_folder

    if len(args.runs) != 1:
        raise UsageError(f"--rescore scores one run's models again: give one RUN, not {len(args.runs)}")
    [run] = args.runs
    ingest = config_from(IngestConfig, args, dataset_root=args.dataset_root or str(demo_data(run)))
    markdown = rescore(comparison_folder(run, args.name), ingest, args.rescore, say=lambda line: print(line, flush=True))
    print(markdown.read_text())
    return 0
