"""Plain-PyTorch restatement of dynamic_network_architectures' ResidualEncoderUNet module tree (DNA is not installed
here): architectures/unet.py ResidualEncoderUNet, building_blocks/residual_encoders.py ResidualEncoder,
building_blocks/residual.py BasicBlockD + StackedResidualBlocks, building_blocks/simple_conv_blocks.py
ConvDropoutNormReLU + StackedConvBlocks, building_blocks/unet_decoder.py UNetDecoder, initialization/weight_init.py.
Attribute names and registration order follow DNA, so state_dict() keys, order and shapes are DNA's; dropout, stochastic
depth, squeeze-excitation and BottleneckD (off in nnU-Net's ResEnc plans) are left out.

build(arch_kwargs, input_channels, num_classes, deep_supervision) takes a plans configuration's arch_kwargs."""
import torch
from torch import nn


def _ops(dims):
    return {2: (nn.Conv2d, nn.ConvTranspose2d, nn.InstanceNorm2d, nn.AvgPool2d),
            3: (nn.Conv3d, nn.ConvTranspose3d, nn.InstanceNorm3d, nn.AvgPool3d)}[dims]


class Cfg:
    """What DNA's encoder stores for the decoder: ops, conv_bias, norm and nonlin settings."""

    def __init__(self, dims, conv_bias, norm_kwargs, nonlin_kwargs):
        self.conv, self.tconv, self.norm, self.pool = _ops(dims)
        self.dims, self.conv_bias, self.norm_kwargs, self.nonlin_kwargs = dims, conv_bias, norm_kwargs, nonlin_kwargs


class ConvDropoutNormReLU(nn.Module):
    def __init__(self, cfg, cin, cout, kernel, stride, bias, with_nonlin):
        super().__init__()
        kernel = [kernel] * cfg.dims if isinstance(kernel, int) else kernel
        stride = [stride] * cfg.dims if isinstance(stride, int) else stride
        self.conv = cfg.conv(cin, cout, kernel, stride, padding=[(k - 1) // 2 for k in kernel], dilation=1, bias=bias)
        ops = [self.conv]
        self.norm = cfg.norm(cout, **cfg.norm_kwargs)
        ops.append(self.norm)
        if with_nonlin:
            self.nonlin = nn.LeakyReLU(**cfg.nonlin_kwargs)
            ops.append(self.nonlin)
        self.all_modules = nn.Sequential(*ops)

    def forward(self, x):
        return self.all_modules(x)


class StackedConvBlocks(nn.Module):
    def __init__(self, cfg, n, cin, cout, kernel, stride):
        super().__init__()
        self.convs = nn.Sequential(*[ConvDropoutNormReLU(cfg, cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1,
                                                         cfg.conv_bias, True) for i in range(n)])

    def forward(self, x):
        return self.convs(x)


class BasicBlockD(nn.Module):
    def __init__(self, cfg, cin, cout, kernel, stride):
        super().__init__()
        stride = [stride] * cfg.dims if isinstance(stride, int) else stride
        self.conv1 = ConvDropoutNormReLU(cfg, cin, cout, kernel, stride, cfg.conv_bias, True)
        self.conv2 = ConvDropoutNormReLU(cfg, cout, cout, kernel, 1, cfg.conv_bias, False)
        self.nonlin2 = nn.LeakyReLU(**cfg.nonlin_kwargs)
        has_stride = any(s != 1 for s in stride)
        if has_stride or cin != cout:
            ops = []
            if has_stride:
                ops.append(cfg.pool(stride, stride))
            if cin != cout:
                ops.append(ConvDropoutNormReLU(cfg, cin, cout, 1, 1, False, False))
            self.skip = nn.Sequential(*ops)
        else:
            self.skip = nn.Identity()

    def forward(self, x):
        residual = self.skip(x)
        out = self.conv2(self.conv1(x))
        out += residual
        return self.nonlin2(out)


class StackedResidualBlocks(nn.Module):
    def __init__(self, cfg, n, cin, cout, kernel, stride):
        super().__init__()
        self.blocks = nn.Sequential(*[BasicBlockD(cfg, cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1)
                                      for i in range(n)])

    def forward(self, x):
        return self.blocks(x)


class ResidualEncoder(nn.Module):
    def __init__(self, cfg, cin, features, kernels, strides, n_blocks):
        super().__init__()
        self.stem = StackedConvBlocks(cfg, 1, cin, features[0], kernels[0], 1)
        cin = features[0]
        stages = []
        for s in range(len(features)):
            stages.append(StackedResidualBlocks(cfg, n_blocks[s], cin, features[s], kernels[s], strides[s]))
            cin = features[s]
        self.stages = nn.Sequential(*stages)
        self.output_channels, self.strides, self.kernel_sizes, self.cfg = features, strides, kernels, cfg

    def forward(self, x):
        x = self.stem(x)
        ret = []
        for s in self.stages:
            x = s(x)
            ret.append(x)
        return ret


class UNetDecoder(nn.Module):
    def __init__(self, encoder, num_classes, n_conv_per_stage, deep_supervision):
        super().__init__()
        self.deep_supervision = deep_supervision
        self.encoder = encoder
        cfg, n = encoder.cfg, len(encoder.output_channels)
        stages, transpconvs, seg_layers = [], [], []
        for s in range(1, n):
            below, skip = encoder.output_channels[-s], encoder.output_channels[-(s + 1)]
            stride = encoder.strides[-s]
            transpconvs.append(cfg.tconv(below, skip, stride, stride, bias=cfg.conv_bias))
            stages.append(StackedConvBlocks(cfg, n_conv_per_stage[s - 1], 2 * skip, skip, encoder.kernel_sizes[-(s + 1)], 1))
            seg_layers.append(cfg.conv(skip, num_classes, 1, 1, 0, bias=True))
        self.stages = nn.ModuleList(stages)
        self.transpconvs = nn.ModuleList(transpconvs)
        self.seg_layers = nn.ModuleList(seg_layers)

    def forward(self, skips):
        lres, outs = skips[-1], []
        for s in range(len(self.stages)):
            x = self.stages[s](torch.cat((self.transpconvs[s](lres), skips[-(s + 2)]), 1))
            if self.deep_supervision:
                outs.append(self.seg_layers[s](x))
            elif s == len(self.stages) - 1:
                outs.append(self.seg_layers[-1](x))
            lres = x
        outs = outs[::-1]
        return outs if self.deep_supervision else outs[0]


class ResidualEncoderUNet(nn.Module):
    def __init__(self, cfg, input_channels, features, kernels, strides, n_blocks, num_classes, n_conv_decoder, deep_supervision):
        super().__init__()
        self.encoder = ResidualEncoder(cfg, input_channels, features, kernels, strides, n_blocks)
        self.decoder = UNetDecoder(self.encoder, num_classes, n_conv_decoder, deep_supervision)

    def forward(self, x):
        return self.decoder(self.encoder(x))

    @staticmethod
    def initialize(module):
        # InitWeights_He(1e-2) then init_last_bn_before_add_to_0, applied per module by nnU-Net's network.apply(...)
        if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            nn.init.kaiming_normal_(module.weight, a=1e-2)
            if module.bias is not None:
                nn.init.constant_(module.bias, 0)
        if isinstance(module, BasicBlockD):
            nn.init.constant_(module.conv2.norm.weight, 0)
            nn.init.constant_(module.conv2.norm.bias, 0)


def build(ak, input_channels, num_classes, deep_supervision=True):
    cfg = Cfg(len(ak['kernel_sizes'][0]), ak['conv_bias'], {'eps': 1e-5, 'affine': True, **(ak.get('norm_op_kwargs') or {})},
              ak.get('nonlin_kwargs') or {})
    return ResidualEncoderUNet(cfg, input_channels, ak['features_per_stage'], ak['kernel_sizes'], ak['strides'],
                               ak['n_blocks_per_stage'], num_classes, ak['n_conv_per_stage_decoder'], deep_supervision)
