# Turns a text file (a label TSV, a template list) into a C++ source file holding it as one
# string named NAME in namespace vit (cmake -P script; NAME defaults to kImageNet1kTsv).
if(NOT DEFINED NAME)
  set(NAME kImageNet1kTsv)
endif()
get_filename_component(source ${IN} NAME)
file(READ ${IN} content)
string(REPLACE "\\" "\\\\" content "${content}")
string(REPLACE "\"" "\\\"" content "${content}")
string(REPLACE "\n" "\\n\"\n\"" content "${content}")
file(WRITE ${OUT} "// Generated from ${source} by cmake/embed_labels.cmake. Do not edit.\n"
  "namespace vit {\nextern const char* const ${NAME};\nconst char* const ${NAME} =\n\"${content}\";\n}\n")
