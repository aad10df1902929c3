// Compiles the shared precompiled header once; see Switchboard.cmake.
