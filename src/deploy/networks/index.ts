// Every network with an ONNX graph registers itself on import.
import './plain-conv-unet.js';
import './residual-encoder-unet.js';
