{
  "targets": [
    {
      "target_name": "ulysses_native",
      "sources": [
        "native/addon.cc",
        "native/gemm.cc",
        "native/attention_forward.cc",
        "native/attention_backward.cc",
        "native/norms.cc",
        "native/activations.cc",
        "native/crossentropy.cc",
        "native/adamw.cc",
        "native/rope.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-march=native", "-fno-math-errno", "-std=c++17", "-pthread"],
      "libraries": ["-lopenblas", "-pthread"]
    }
  ]
}
