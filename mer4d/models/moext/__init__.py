"""MoExt (R. Li et al., "Micro-Expression Recognition by Motion Feature Extraction based on Pre-training", arXiv 2407.07345).

* :mod:`.blocks`: Table 1's Conv block, on maps and on vectors, and Table 2's upsampling row;
* :mod:`.separator`: the feature separator F (backbone, shape and texture branches, §3.2.1);
* :mod:`.motion`: the motion extractor E (Eq. 2-3) and Table 7's difference ablation;
* :mod:`.reconstruct`: the apex reconstructor R (Eq. 4, Table 2);
* :mod:`.pretrain_net`: the pre-training network (Eq. 1) with the projector of Eq. 6, 8 and its checkpoint;
* :mod:`.classifier`: the objective-stage classifier, registered as ``moext`` (§3.4).
"""

from mer4d.models.moext import classifier  # noqa: F401  (registers "moext")
