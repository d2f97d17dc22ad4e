# Writes CTEST_FILE: one ctest entry per fast GoogleTest suite of TEST_EXECUTABLE (label "fast",
# run as --gtest_filter=Suite.*). Suites whose name ends in "Slow" are left to
# gtest_discover_tests (tests/CMakeLists.txt). Run after each link of poet_tests:
#   cmake -D TEST_EXECUTABLE=... -D WORKING_DIR=... -D CTEST_FILE=... -P suites.cmake
execute_process(COMMAND ${TEST_EXECUTABLE} --gtest_list_tests
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc TIMEOUT 60)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TEST_EXECUTABLE} --gtest_list_tests failed (${rc}):\n${listing}")
endif()
# Suite lines start in the first column and end with a dot; test lines are indented.
string(REGEX MATCHALL "(^|\n)[A-Za-z_][A-Za-z0-9_]*\\." suites "${listing}")
set(content "")
foreach(suite IN LISTS suites)
  string(REGEX REPLACE "^\n|\\.$" "" suite "${suite}")
  if(suite MATCHES "Slow$")
    continue()
  endif()
  string(APPEND content
    "add_test([=[${suite}]=] [==[${TEST_EXECUTABLE}]==] [==[--gtest_filter=${suite}.*]==])\n"
    "set_tests_properties([=[${suite}]=] PROPERTIES LABELS fast TIMEOUT 300"
    " WORKING_DIRECTORY [==[${WORKING_DIR}]==])\n")
endforeach()
file(WRITE ${CTEST_FILE} "${content}")
