# Turns the label TSV into a C++ source file holding it as one string (cmake -P script).
file(READ ${IN} content)
string(REPLACE "\\" "\\\\" content "${content}")
string(REPLACE "\"" "\\\"" content "${content}")
string(REPLACE "\n" "\\n\"\n\"" content "${content}")
file(WRITE ${OUT} "// Generated from src/labels/imagenet1k.tsv by cmake/embed_labels.cmake. Do not edit.\n"
  "namespace vit {\nextern const char* const kImageNet1kTsv;\nconst char* const kImageNet1kTsv =\n\"${content}\";\n}\n")
