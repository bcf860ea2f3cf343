// Writes "publicized" copies of .NET assemblies: every type, method and field made public.
// Usage: Publicizer OUTPUT_DIR ASSEMBLY.dll [ASSEMBLY.dll ...]
// The copies are compile-time references only; the real, signed assemblies are what runs. At run time the
// calling assembly declares IgnoresAccessChecksToAttribute for each publicized assembly.
using System;
using System.IO;
using Mono.Cecil;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Publicizer OUTPUT_DIR ASSEMBLY.dll [ASSEMBLY.dll ...]");
    return 2;
}

string outputDirectory = args[0];
Directory.CreateDirectory(outputDirectory);
for (int i = 1; i < args.Length; i++)
{
    string input = args[i];
    string output = Path.Combine(outputDirectory, Path.GetFileName(input));
    if (File.Exists(output) && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(input))
        continue;

    var resolver = new DefaultAssemblyResolver();
    resolver.AddSearchDirectory(Path.GetDirectoryName(input)!);
    using var assembly = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver });
    foreach (var module in assembly.Modules)
    {
        foreach (var type in module.GetTypes())
            Publicize(type);
    }

    string temporary = output + ".tmp";
    assembly.Write(temporary);
    File.Move(temporary, output, overwrite: true);
    Console.WriteLine($"Publicizer: wrote {output}");
}
return 0;

static void Publicize(TypeDefinition type)
{
    if (type.IsNested)
        type.IsNestedPublic = true;
    else
        type.IsPublic = true;

    foreach (var method in type.Methods)
    {
        // Only widen: overriding members of a virtual chain must keep matching accessibility in the copy,
        // which they do since every member becomes public.
        method.IsPublic = true;
    }
    foreach (var field in type.Fields)
    {
        // Backing fields of events share the event's name; leaving them private keeps C# name lookup unambiguous.
        if (HasEventNamed(type, field.Name))
            continue;
        field.IsPublic = true;
    }
}

static bool HasEventNamed(TypeDefinition type, string name)
{
    foreach (var e in type.Events)
    {
        if (e.Name == name)
            return true;
    }
    return false;
}
