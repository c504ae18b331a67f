output "table" {
  value = module.events.name
}
