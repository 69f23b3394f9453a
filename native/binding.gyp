{
  "targets": [
    {
      "target_name": "lethe",
      "sources": ["lethe.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node find-libtorch.mjs include)"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "_GLIBCXX_USE_CXX11_ABI=1"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter"],
      "ldflags": ["-Wl,--no-as-needed", "<!@(node find-libtorch.mjs libdirs)", "<!@(node find-libtorch.mjs rpath)"],
      "libraries": ["<!@(node find-libtorch.mjs libs)"]
    }
  ]
}
