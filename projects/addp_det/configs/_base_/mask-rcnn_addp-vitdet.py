# Mask R-CNN of ViTDet on the ADDP encoder: plain ViT, simple feature pyramid, LayerNorm in
# the pyramid and the RoI heads, 2-conv RPN.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py']

custom_imports = dict(
    imports=['projects.addp_det.addp_det'], allow_failed_imports=False)
# Every rank's random states go into checkpoints, so that --resume continues the same run.
custom_hooks = [dict(type='RandomStateHook')]

norm_cfg = dict(type='mmpretrain.LN2d', eps=1e-6)

model = dict(
    backbone=dict(
        _delete_=True,
        type='ADDPViTDet',
        arch='b',
        img_size=1024,
        patch_size=16,
        window_size=14,
        global_attn_indexes=(2, 5, 8, 11),
        use_rel_pos=True,
        drop_path_rate=0.1),
    neck=dict(
        _delete_=True,
        type='SimpleFPN',
        backbone_channel=768,
        in_channels=[192, 384, 768, 768],
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
