using System.Text.Json;
using Overlay.Core.Config;

namespace Overlay.Core.Tests.Config;

public class JsonSyntaxErrorTests
{
    private static string Describe(string json)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            return JsonSyntaxError.Describe(json, e);
        }

        throw new AssertionException($"{json} parsed");
    }

    [TestCase("{\"Network\":\"198.18.0.0/16\",}", "at line 1, column 27: a comma after the last member of an object (JSON allows none)")]
    [TestCase("{\"a\":[1,2,]}", "at line 1, column 10: a comma after the last element of an array (JSON allows none)")]
    [TestCase("{\"Network\":\"198.18.0.0/16\"", "at line 1, column 27: the text ends inside an object or array (a closing '}' or ']' is missing)")]
    [TestCase("", "at line 1, column 1: there is no JSON in it (empty, or only blanks)")]
    [TestCase("{Network:1}", "at line 1, column 2: 'N' where a member name should start (names are in double quotes, e.g. \"Network\")")]
    [TestCase("// flannel\n{}", "at line 1, column 1: '/' (comments are not allowed in JSON)")]
    [TestCase("{\"a\":1}\n{}", "at line 2, column 1: '{' after the end of the config (the text holds one object and nothing after it)")]
    [TestCase("{\"a\" 1}", "at line 1, column 6: '1' where ':' should follow the member name")]
    [TestCase("{\"a\":True}", "at line 1, column 6: 'T' cannot start a value (a value is a \"string\" in double quotes, a number, true, false, null, an object or an array)")]
    [TestCase("{\"a\":\"x\ny\"}", "at line 1, column 8: a line break inside a string (a string ends on the line it starts; write \\n for a line break)")]
    [TestCase("{\"a\":\"x", "at line 1, column 8: a string is not closed (its closing '\"' is missing)")]
    public void A_syntax_error_is_told_by_line_and_column_from_1_and_in_words(string json, string expected)
    {
        Assert.That(Describe(json), Is.EqualTo(expected));
    }

    [Test]
    public void A_trailing_comma_is_pointed_at_where_it_is_even_a_line_before_the_closing_bracket()
    {
        Assert.That(Describe("{\n  \"Network\": \"198.18.0.0/16\",\r\n\n}\n"), Does.StartWith("at line 2, column 29: a comma after the last member"));
    }

    [Test]
    public void The_column_counts_characters_not_UTF8_bytes()
    {
        // "é" and "ü" are two bytes each: the reader's byte offset 11 is the 10th character.
        Assert.That(Describe("{\"é\":\"ü\",,}"), Does.StartWith("at line 1, column 10: ','"));
    }

    [Test]
    public void No_reader_wording_is_left_in_any_description()
    {
        string[] broken = ["{,}", "[1 2]", "{\"a\":tru}", "{\"a\":\"\\q\"}", "{\"a\":-}", "\"x", "{\"a\":1e}", "nul"];

        Assert.That(broken.Select(Describe), Has.None.Contains("LineNumber").And.None.Contains("BytePositionInLine").And.None.Contains("reader options"));
    }
}
