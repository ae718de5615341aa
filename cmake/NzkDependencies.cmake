# Finds every external library the suite uses and, when one is missing,
# names the Debian package that provides it.

find_package(PkgConfig QUIET)

function(nzk_missing what package)
  message(FATAL_ERROR
    "nzk-verify: ${what} not found. On Debian install it with:\n"
    "  apt-get install ${package}\n"
    "(scripts/setup installs every dependency at once.)")
endfunction()

find_package(GSL QUIET)
if(NOT GSL_FOUND)
  nzk_missing("GSL (GNU Scientific Library)" "libgsl-dev")
endif()

# OpenBLAS provides both CBLAS and LAPACK; LAPACKE is the C interface.
find_path(NZK_CBLAS_INCLUDE cblas.h PATH_SUFFIXES openblas)
find_library(NZK_OPENBLAS_LIB NAMES openblas)
if(NOT NZK_CBLAS_INCLUDE OR NOT NZK_OPENBLAS_LIB)
  nzk_missing("OpenBLAS (CBLAS)" "libopenblas-dev")
endif()
find_path(NZK_LAPACKE_INCLUDE lapacke.h)
find_library(NZK_LAPACKE_LIB NAMES lapacke)
if(NOT NZK_LAPACKE_INCLUDE OR NOT NZK_LAPACKE_LIB)
  nzk_missing("LAPACKE" "liblapacke-dev")
endif()

find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  nzk_missing("zlib" "zlib1g-dev")
endif()

find_package(JPEG QUIET)
if(NOT JPEG_FOUND)
  nzk_missing("libjpeg-turbo" "libjpeg62-turbo-dev")
endif()

find_path(NZK_JANSSON_INCLUDE jansson.h)
find_library(NZK_JANSSON_LIB NAMES jansson)
if(NOT NZK_JANSSON_INCLUDE OR NOT NZK_JANSSON_LIB)
  nzk_missing("Jansson (JSON)" "libjansson-dev")
endif()

find_program(NZK_GNUPLOT gnuplot)
if(NOT NZK_GNUPLOT)
  nzk_missing("gnuplot" "gnuplot-nox")
endif()

find_library(NZK_MATH_LIB m)
