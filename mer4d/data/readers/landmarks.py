"""The per-clip 2D landmark file: its name and columns (read by the face stage, written by the simulator).

A ``landmarks.csv`` in a clip's frame folder with one row per (frame, landmark): the absolute
frame number, the landmark name (:data:`mer4d.geometry.template` names) and its pixel column and
row. The simulator writes one for every clip; real releases ship none (4DME, CASME II, ...), so
their clips are aligned from detected landmarks unless a user adds such a file.
"""

LANDMARK_FILE = "landmarks.csv"
LANDMARK_COLUMNS = ("frame", "name", "x", "y")
