# oneDNN as the imported target DNNL::dnnl, found by its header and library: used by the build
# (CMakeLists.txt) and by the installed package (vit_classifyConfig.cmake), one rule for both.
# Not find_package(dnnl CONFIG): Debian's dnnl-config.cmake requires OpenCL's development files
# (its GPU runtime), which libdnnl-dev only recommends and which vit-classify never uses, so on
# a minimal Debian that configure step fails. Sets VIT_DNNL_FOUND.
if(NOT TARGET DNNL::dnnl)
  find_path(VIT_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
  find_library(VIT_DNNL_LIBRARY NAMES dnnl)
  if(VIT_DNNL_INCLUDE_DIR AND VIT_DNNL_LIBRARY)
    add_library(DNNL::dnnl UNKNOWN IMPORTED)
    set_target_properties(DNNL::dnnl PROPERTIES IMPORTED_LOCATION ${VIT_DNNL_LIBRARY}
      INTERFACE_INCLUDE_DIRECTORIES ${VIT_DNNL_INCLUDE_DIR})
  endif()
endif()
if(TARGET DNNL::dnnl)
  set(VIT_DNNL_FOUND TRUE)
else()
  set(VIT_DNNL_FOUND FALSE)
endif()
