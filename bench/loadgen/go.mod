module sixdeg/bench/loadgen

go 1.19
