"""Datasets: which clip goes to which split with which label, and where the clips come from.

records.py   ClipRecord, DatasetIndex, the split names, DatasetError, group helpers
ucf101.py    UCF101's classInd.txt + trainlist/testlist layout (the synthetic dataset uses it too)
hmdb51.py    HMDB51's testTrainMulti_7030_splits
folder.py    a folder per class, split by groups
detect.py    which layout a folder has; read_dataset / read_configured; categories and direction pairs
synth.py     the embedded synthetic dataset (writes clips in UCF101's layout)
download.py  fetching and arranging UCF101 / HMDB51 (standard library only: runs on the host's Python)
archives.py  unpacking zip, tar and RAR, every member checked from a listing first (standard library only)

This file imports nothing, so `harflow.datasets.download` stays importable without OpenCV.
"""
