# How vit-classify installs: the command with its man page, shell completions and README
# (component Runtime, what the .deb holds), and the libraries as a CMake package, so that
# another program can `find_package(vit_classify)` and link vit::core (component Development).
# Included from the top CMakeLists.txt after every target is declared.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Installing and packaging take what is built (scripts/check_install.sh builds the command
# first): `make install` or cpack's preinstall step would otherwise build every target,
# the test suite and fuzzers included, just to package one binary.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# --- the command -------------------------------------------------------------------------
install(TARGETS vit-classify RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime)

# Debian policy wants man pages gzipped (-n: no name or time stamp, so the package is
# reproducible); compressed where it lands, so that `cmake --install` and CPack agree.
install(FILES docs/vit-classify.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT Runtime)
install(CODE "
  set(page \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_MANDIR}/man1/vit-classify.1\")
  execute_process(COMMAND gzip -9nf \"\${page}\" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR \"gzip \${page} failed (\${rc})\")
  endif()" COMPONENT Runtime)

# bash-completion's loader looks a command's file up by the command's name; zsh's
# vendor-completions folder is on Debian's default $fpath.
install(FILES completions/vit-classify.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  RENAME vit-classify COMPONENT Runtime)
install(FILES completions/_vit-classify DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
  COMPONENT Runtime)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT Runtime)

# --- the library as a CMake package ------------------------------------------------------
# vit::core is everything below the command line (io, text, image, model, batch, explain); the
# app layer stays private to the command (CLI11 and its option structs are not an API).
add_library(vit_core INTERFACE)
target_link_libraries(vit_core INTERFACE vit_batch vit_explain)
set_target_properties(vit_core PROPERTIES EXPORT_NAME core)
foreach(layer io text image model batch explain)
  set_target_properties(vit_${layer} PROPERTIES EXPORT_NAME ${layer})
endforeach()
add_library(vit::core ALIAS vit_core)

install(TARGETS vit_io vit_text vit_image vit_model vit_batch vit_explain vit_core
  EXPORT vit_classifyTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development)
# The API's headers only: what a program includes to classify images (examples/classify.cpp),
# run a batch or explain one, and the headers those include. None of them includes LibTorch's,
# oneDNN's or libcurl's headers; the rest of include/vit is the libraries' own
# (scripts/check_install.sh checks that every vit/ header an installed one includes is installed).
set(VIT_API_HEADERS
  vit/errors.h vit/vocabulary.h
  vit/io/labels.h vit/io/text.h
  vit/image/decode.h vit/image/preprocess.h vit/image/resample.h
  vit/model/engine.h vit/model/precision.h vit/model/prediction.h vit/model/runtime.h
  vit/batch/pipeline.h vit/batch/inputs.h vit/batch/records.h
  vit/explain/attention.h vit/explain/figures.h vit/explain/report.h)
foreach(header ${VIT_API_HEADERS})
  get_filename_component(folder ${header} DIRECTORY)
  install(FILES include/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${folder} COMPONENT Development)
endforeach()

set(VIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/vit_classify)
install(EXPORT vit_classifyTargets NAMESPACE vit:: DESTINATION ${VIT_CMAKE_DIR} COMPONENT Development)
# The config file finds what the exported targets name: the same packages, and OpenCV's
# FreeType module only when explain was built with it (it then links opencv_freetype).
set(VIT_OPENCV_COMPONENTS core imgproc imgcodecs)
if(OpenCV_freetype_FOUND OR TARGET opencv_freetype)
  list(APPEND VIT_OPENCV_COMPONENTS freetype)
endif()
configure_package_config_file(cmake/vit_classifyConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/vit_classifyConfig.cmake INSTALL_DESTINATION ${VIT_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/vit_classifyConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vit_classifyConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/vit_classifyConfigVersion.cmake ${CMAKE_CURRENT_SOURCE_DIR}/cmake/vit_dnnl.cmake
  DESTINATION ${VIT_CMAKE_DIR} COMPONENT Development)

# --- the Debian package: `cpack -G DEB` in the build folder ------------------------------
if(PROJECT_IS_TOP_LEVEL)
  set(CPACK_PACKAGE_NAME vit-classify)
  set(CPACK_PACKAGE_VENDOR "vit-classify")
  set(CPACK_PACKAGE_CONTACT "vit-classify maintainers <vit-classify@localhost>")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "classify images with a Vision Transformer (ViT)")
  set(CPACK_PACKAGE_DESCRIPTION
      "A command-line image classifier built on LibTorch and OpenCV: a hand-built ViT that reads\n"
      "timm and Hugging Face safetensors, torchvision and DeiT .pth files and TorchScript exports,\n"
      "preprocesses each photo as that model was trained, and gives the same numbers as PyTorch.")
  string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  set(CPACK_STRIP_FILES ON)
  # The command alone: the static libraries, headers and CMake files are for building
  # against a checkout's `cmake --install`, not for the machines that run the tool.
  set(CPACK_COMPONENTS_ALL Runtime)
  set(CPACK_DEB_COMPONENT_INSTALL ON)
  set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)  # one package, named vit-classify
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # vit-classify_0.1.0_amd64.deb
  set(CPACK_DEBIAN_PACKAGE_SECTION science)
  # Depends from the libraries the binary really loads (dpkg-shlibdeps, from dpkg-dev).
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # LibTorch calls libblas.so.3: Debian's reference BLAS there is ~20x slower than OpenBLAS.
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-openmp")
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
  include(CPack)
endif()
