"""The `harflow` command line (the roof: it may import anything, and only harflow/__main__.py imports it).

    app.py       the parser of every command, --version, where a command runs, one-line errors
    options.py   the options commands share, each declared once, defaults from harflow.config
    pipeline.py  demo, run               data.py     synth, data download, data stats
    predict.py   predict                 serve.py    serve (the web app)
    runs.py      runs, compare (--rescore)   kubeflow.py  kubeflow compile, submit
    progress.py  the one progress display (tqdm on a terminal, lines otherwise)
"""

from harflow.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
