"""Readers for clip files on disk: image folders, videos, depth frames and mesh sequences.

Every reader takes an optional ``first``/``last`` frame range (absolute frame numbers from the
file names; 0-based indices for videos and ``.npy`` arrays) and returns the frame numbers it read
next to the data, so annotations can be matched to frames by number, never by position.
"""

from mer4d.data.readers.depth import read_depth
from mer4d.data.readers.frames import IMAGE_SUFFIXES, frame_number, list_frames, read_frames, select_frames
from mer4d.data.readers.mesh_seq import read_mesh_seq
from mer4d.data.readers.video import read_video

__all__ = ["IMAGE_SUFFIXES", "frame_number", "list_frames", "read_depth", "read_frames", "read_mesh_seq", "read_video", "select_frames"]
