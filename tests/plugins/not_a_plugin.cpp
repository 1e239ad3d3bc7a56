// A valid shared library that is not a quantflow plugin: it exports no descriptor.
extern "C" __attribute__((visibility("default"))) int some_unrelated_function() { return 42; }
