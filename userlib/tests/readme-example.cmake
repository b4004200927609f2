# Compiles the first ```cpp block of README.md against the built library and
# runs it on ordinary files, so the README example cannot rot.
#   cmake -DREADME=... -DWORK=dir -DCXX=compiler -DINCLUDE=dir -DLIB=libdaxvm
#         [-DFLAGS="extra compile and link flags"] -P readme-example.cmake
foreach(var README WORK CXX INCLUDE LIB)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "readme-example.cmake: -D${var}=... missing")
  endif()
endforeach()

# ---- extract -----------------------------------------------------------------
file(READ "${README}" text)
set(open "```cpp\n")
string(FIND "${text}" "${open}" begin)
if(begin EQUAL -1)
  message(FATAL_ERROR "${README}: no ```cpp block")
endif()
string(LENGTH "${open}" open_len)
math(EXPR begin "${begin} + ${open_len}")
string(SUBSTRING "${text}" ${begin} -1 text)
string(FIND "${text}" "\n```" end)
if(end EQUAL -1)
  message(FATAL_ERROR "${README}: unterminated ```cpp block")
endif()
string(SUBSTRING "${text}" 0 ${end} code)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
file(WRITE "${WORK}/readme_example.cpp" "${code}\n")

# ---- compile as a user would: -std=c++23, the headers and the library ---------
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
get_filename_component(libdir "${LIB}" DIRECTORY)
execute_process(
  COMMAND "${CXX}" -std=c++23 -Wall -Wextra -Werror ${flags} "-I${INCLUDE}"
          "${WORK}/readme_example.cpp" "${LIB}" "-Wl,-rpath,${libdir}" -o "${WORK}/readme_example"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README example does not compile:\n${code}\n${out}")
endif()

# ---- run: documented behaviour on files that are not DAX ---------------------
# run(FILE CONTENT RC STDERR_REGEX): write CONTENT to FILE (unless it is
# "<none>"), run the example on it, check its exit code and stderr.
function(run file content want_rc want_err)
  if(NOT content STREQUAL "<none>")
    file(WRITE "${file}" "${content}")
  endif()
  execute_process(COMMAND "${WORK}/readme_example" "${file}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL want_rc OR NOT err MATCHES "${want_err}")
    message(FATAL_ERROR "readme_example ${file}: exit ${rc} (want ${want_rc}), "
      "stderr \"${err}\" (want /${want_err}/), stdout \"${out}\"")
  endif()
endfunction()

# Without DaxVM the mapping falls back to a plain one, else the file is not DAX.
if(EXISTS /proc/fs/daxvm/version)
  set(reason "(not_dax|option_unsupported)")
else()
  set(reason "kernel_lacks_daxvm")
endif()
run("${WORK}/log" "xxxxx world\n" 0 "^fallback: ${reason}\n$")
file(READ "${WORK}/log" got)
if(NOT got STREQUAL "hello world\n")
  message(FATAL_ERROR "readme_example did not write \"hello\": file holds \"${got}\"")
endif()
run("${WORK}/short" "abc" 1 "^range extends beyond end of file\n$")
run("${WORK}/empty" "" 1 "^file is empty\n$")
run("${WORK}/missing" "<none>" 1 "^No such file or directory\n$")
message(STATUS "README example ok")
