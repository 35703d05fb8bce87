{
  "targets": [
    {
      "target_name": "ulysses_native",
      "sources": [
        "native/addon.cc",
        "native/gemm.cc",
        "native/sbgemm.cc",
        "native/bf16_convert.cc",
        "native/copy.cc",
        "native/attention_forward.cc",
        "native/attention_backward.cc",
        "native/attention_sparse_forward.cc",
        "native/attention_sparse_backward.cc",
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
      "libraries": ["-lopenblas", "-pthread"],
      # Open MPI's mpicc on PATH at configure time builds the MPI binding; otherwise a stub says it is absent.
      "variables": {
        "with_mpi": "<!(sh -c 'mpicc --showme:incdirs >/dev/null 2>&1 && echo 1 || echo 0')"
      },
      "conditions": [
        ["with_mpi==1", {
          "sources": ["native/mpi.cc", "native/mpi_collectives.cc"],
          "defines": ["OMPI_SKIP_MPICXX=1"],
          "include_dirs": ["<!@(mpicc --showme:incdirs)"],
          "libraries": ["<!@(mpicc --showme:link)"]
        }, {
          "sources": ["native/mpi_stub.cc"]
        }]
      ]
    }
  ]
}
