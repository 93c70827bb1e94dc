"""Build of the C part of ingest (everything else is in pyproject.toml).

``vigie.media._fastpath`` links FFmpeg's libavformat from the system
(Debian: libavformat-dev, installed by scripts/install-system.sh).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vigie.media._fastpath",
            ["src/vigie/media/_fastpath.c"],
            libraries=["avformat", "avcodec", "avutil"],
            extra_compile_args=[
                "-O2",
                "-ftree-vectorize",
                "-Wall",
                "-Wextra",
                "-Wno-missing-field-initializers",
            ],
        )
    ]
)
