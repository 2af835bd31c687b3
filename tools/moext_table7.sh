#!/usr/bin/env bash
# MoExt's Table 7 (ablations on the MEGC2019 composite) on the simulator, quick profile, then the report.
# Extra arguments go to every command (e.g. --set tracking.uri=sqlite:////tmp/moext/mlflow.db).
set -euo pipefail
pretrain() { mer4d pretrain recipes/moext_pretrain.yaml "$@" | tee /dev/stderr | sed -n 's/^run \([0-9a-f]*\) .*/\1/p'; }
finetune() { mer4d run recipes/megc2019_moext.yaml "$@"; }

pretrain "$@" > /dev/null                       # MoExt's own checkpoint (found as pretrain:moext_pretrain)
finetune "$@"                                   # MoExt
finetune --set model.params.init=null "$@"      # w/o pre-training
finetune --set dataset.shuffle_labels=true "$@" # the shuffled-label control
micro=$(pretrain --set dataset.kind=micro "$@")
finetune --set "model.params.init=runs:/$micro" "$@"                   # w/o macro-expressions
diff=$(pretrain --set model.params.motion=difference "$@")
finetune --set model.params.motion=difference --set "model.params.init=runs:/$diff" "$@"  # w/o motion extractor
st=$(pretrain --set pretrain.alpha_st=0 "$@")
finetune --set "model.params.init=runs:/$st" "$@"                      # w/o L_st
oa=$(pretrain --set pretrain.alpha_oa=0 "$@")
finetune --set "model.params.init=runs:/$oa" "$@"                      # w/o L_oa
uri_args=()
for a in "$@"; do case "$a" in tracking.uri=*) uri_args=(--uri "${a#tracking.uri=}");; esac; done
mer4d report --tables moext "${uri_args[@]}"
