# Sourced by the test scripts that run Java (tests/kafka.sh, tests/avro.sh): the class path of
# some Maven artifacts and their dependencies, resolved from Maven Central with `mvn` (the jars
# cached in ~/.m2) and remembered in a file.

# maven_classpath FILE GROUP:ARTIFACT:VERSION...
# Prints the class path, resolving it into FILE first when FILE is empty or missing.
maven_classpath() {
  local cp_file="$1"; shift
  if [[ ! -s "$cp_file" ]]; then
    command -v mvn >/dev/null || { echo "mvn is required to fetch $*" >&2; return 1; }
    local pom_dir="$cp_file.pom"
    mkdir -p "$pom_dir"
    {
      echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
      echo '<groupId>precursor-watch</groupId><artifactId>test-classpath</artifactId><version>1</version>'
      echo '<dependencies>'
      local coordinates group artifact version
      for coordinates in "$@"; do
        IFS=: read -r group artifact version <<<"$coordinates"
        echo "<dependency><groupId>$group</groupId><artifactId>$artifact</artifactId><version>$version</version></dependency>"
      done
      echo '</dependencies></project>'
    } >"$pom_dir/pom.xml"
    echo "resolving $* with mvn" >&2
    mvn -B -q -f "$pom_dir/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file.tmp" >&2
    mv "$cp_file.tmp" "$cp_file"
  fi
  cat "$cp_file"
}
