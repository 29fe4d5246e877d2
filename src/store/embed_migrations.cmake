# Writes a C++ source holding db/NNNN_name.sql as string literals, so the programs carry
# their migrations and do not depend on where the source tree is.
# Usage: cmake -DOUTPUT=<file.cpp> -DSQL_DIR=<db dir> -P embed_migrations.cmake
file(GLOB sql_files RELATIVE ${SQL_DIR} ${SQL_DIR}/*.sql)
list(SORT sql_files)
set(body "")
set(expected 1)
foreach(name ${sql_files})
  if(NOT name MATCHES "^([0-9][0-9][0-9][0-9])_([a-z0-9_]+)\\.sql$")
    message(FATAL_ERROR "db/${name}: migrations are named NNNN_name.sql (lowercase name)")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  if(NOT version EQUAL expected)
    message(FATAL_ERROR "db/${name}: expected migration number ${expected}; numbers start at 1 without gaps")
  endif()
  math(EXPR expected "${expected} + 1")
  file(READ ${SQL_DIR}/${name} sql)
  string(FIND "${sql}" ")sekds_sql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "db/${name} contains the literal delimiter )sekds_sql\"")
  endif()
  string(APPEND body "    {${version}, \"${name}\", R\"sekds_sql(${sql})sekds_sql\"},\n")
endforeach()
if(expected EQUAL 1)
  message(FATAL_ERROR "no migrations in ${SQL_DIR}")
endif()
set(content "// Generated from db/*.sql by src/store/embed_migrations.cmake. Do not edit.
#include \"store/migrations.h\"

namespace sekds::store {

std::span<const Migration> embedded_migrations() {
  static const Migration migrations[] = {
${body}  };
  return migrations;
}

}  // namespace sekds::store
")
# Only touch the file when it changes, so an unchanged schema does not rebuild.
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE ${OUTPUT} "${content}")
