# values for dev: to be filled in
